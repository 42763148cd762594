using EventCluster.Client.Cli;
using EventCluster.Client.Commands;
using EventCluster.Client.Connection;
using EventCluster.Messages.Security;
using EventCluster.Messages.Validation;

const string usage = """
    usage: eventcluster COMMAND [options]

    commands:
      send   --entity ID --type TYPE [--data JSON] [--id EVENT_ID] [--json]
      get    --entity ID [--json]
      status [--json]
      load   --events N --entities K [--concurrency C] [--rate R] [--acked FILE] [--type TYPE] [--entity-prefix P] [--json]
             [--echo]   round trips to non-persistent echo entities instead of events: the cluster without the journal
      verify --acked FILE [--json]
      history   --entity ID [--from VERSION] [--limit N] [--json]   an entity's events in version order (limit 100, at most 1000)
      subscribe [--from start|end|POSITION] [--type TYPE]... [--entity ID | --entity-prefix PREFIX] [--group NAME] [--max N] [--json]
                the events after POSITION (start: all, the default; end: only new ones), stored then live, in position order;
                with --group the cluster keeps the position; --max N exits after N events, Ctrl-C exits 0
      groups [--json]   every group with its position and lag
      webhooks add --name NAME --url URL [--type TYPE]... [--entity-prefix P] [--from start|end|POSITION] [--secret S]
                   [--max-attempts N] [--concurrency N] [--json]      a subscription the cluster delivers by HTTP POST
      webhooks list|show --name NAME|remove --name NAME|replay-parked --name NAME [--json]
                   (with --api-token TOKEN or env EVENTCLUSTER_API_TOKEN when the nodes have one)
      webhooks receive [--port 8080] [--secret S]   a small receiver that prints each delivery as a JSON line
      webhooks check --acked FILE --deliveries FILE [--json]   every acked event received, in order per entity; repeats counted
      certs create --out DIR   a development TLS certificate for a cluster (DIR/eventcluster.pfx and its password)

    options for every command:
      --seeds host:port,...   seed nodes to contact (env EVENTCLUSTER_SEEDS, default 127.0.0.1:4053)
      --timeout SECONDS       how long to wait for the cluster (send/get/status/verify: 30, load: 120 per event)
      --tls-certificate PFX   TLS with mutual authentication (env EVENTCLUSTER_TLS_CERTIFICATE); the nodes' certificate
      --tls-password PW       password of the .pfx (env EVENTCLUSTER_TLS_PASSWORD)

    exit codes: 0 success, 1 rejected or verification failed, 2 bad usage or input, 3 cluster unreachable or timed out
    """;

var flags = new HashSet<string> { "--json", "--help", "--echo" };
var valueOptions = new HashSet<string>
{
    "--seeds", "--timeout", "--entity", "--type", "--data", "--id", "--events", "--entities", "--concurrency", "--rate", "--acked",
    "--entity-prefix", "--tls-certificate", "--tls-password", "--out", "--from", "--limit", "--group", "--max",
    "--name", "--url", "--secret", "--max-attempts", "--api-token", "--port", "--deliveries",
};
try
{
    var parsed = Arguments.Parse(args, flags, valueOptions);
    if (parsed.Flag("--help") || parsed.Command is null or "help")
    {
        Console.Out.WriteLine(usage);
        return parsed.Command is null && !parsed.Flag("--help") ? ExitCodes.Usage : ExitCodes.Success;
    }

    var seeds = ParseSeeds(parsed.Value("--seeds") ?? Environment.GetEnvironmentVariable("EVENTCLUSTER_SEEDS") ?? "127.0.0.1:4053");
    TimeSpan? timeout = parsed.Value("--timeout") is null ? null : parsed.Seconds("--timeout", TimeSpan.Zero);
    if (parsed.Command == "certs")
        return CertsCommand.Run(parsed);
    ClusterConnection.TlsCertificate = LoadTls(parsed);
    return parsed.Command switch
    {
        "send" => await SendCommand.RunAsync(parsed, seeds, timeout),
        "get" => await GetCommand.RunAsync(parsed, seeds, timeout),
        "status" => await StatusCommand.RunAsync(parsed, seeds, timeout),
        "load" => await LoadCommand.RunAsync(parsed, seeds, timeout),
        "verify" => await VerifyCommand.RunAsync(parsed, seeds, timeout),
        "history" => await HistoryCommand.RunAsync(parsed, seeds, timeout),
        "subscribe" => await SubscribeCommand.RunAsync(parsed, seeds, timeout),
        "groups" => await GroupsCommand.RunAsync(parsed, seeds, timeout),
        "webhooks" => await WebhooksCommand.RunAsync(parsed, seeds, timeout),
        _ => throw new UsageException($"unknown command '{parsed.Command}' (send, get, status, load, verify, history, subscribe, groups, webhooks, certs)"),
    };
}
catch (UsageException ex)
{
    Output.Error(ex.Message);
    Console.Error.WriteLine("run 'eventcluster --help' for usage");
    return ExitCodes.Usage;
}
catch (ClusterUnreachableException ex)
{
    Output.Error(ex.Message);
    return ExitCodes.Unreachable;
}
catch (IOException ex)
{
    Output.Error(ex.Message);
    return ExitCodes.Usage;
}
catch (Exception ex)
{
    Output.Error($"unexpected failure: {ex.GetBaseException().Message}");
    return ExitCodes.Rejected;
}

static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadTls(Arguments parsed)
{
    var path = parsed.Value("--tls-certificate") ?? NonEmpty(Environment.GetEnvironmentVariable(RemoteTls.CertificateVariable));
    var password = parsed.Value("--tls-password") ?? NonEmpty(Environment.GetEnvironmentVariable(RemoteTls.PasswordVariable));
    if (path is null)
        return password is null ? null : throw new UsageException("--tls-password is given without --tls-certificate");
    try
    {
        return RemoteTls.Load(path, password);
    }
    catch (TlsConfigurationException ex)
    {
        throw new UsageException(ex.Message);
    }
}

static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

static IReadOnlyList<string> ParseSeeds(string value)
{
    try
    {
        return SeedList.Parse(value);
    }
    catch (FormatException ex)
    {
        throw new UsageException(ex.Message);
    }
}
