using System.CommandLine;
using System.CommandLine.Invocation;
using EventCluster.Cli.Commands;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Security;
using EventCluster.Messages.Validation;

// The parser's messages in one language whatever the machine's, as documented.
System.Globalization.CultureInfo.CurrentUICulture = System.Globalization.CultureInfo.InvariantCulture;
var root = CommandTree.Build(RunAsync);
// No response files: a value starting with '@' (a secret, a token, a path) is taken as written.
var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Action is ParseErrorAction)
    return UsageErrors.Report(parse);

// Ctrl-C and SIGTERM are the commands' own to handle (subscribe exits 0 on them), so the
// parser neither cancels nor waits on termination; failures map to the documented exit codes.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });

static async Task<int> RunAsync(ParseResult parse)
{
    var parsed = new Arguments(parse);
    try
    {
        if (parsed.Command == "certs")
            return CertsCommand.Run(parsed);
        if (parsed.Command == "tokens")
            return TokensCommand.Run(parsed);
        var connection = new ConnectionSettings(
            ParseSeeds(parsed.Value<string>("--seeds") ?? Environment.GetEnvironmentVariable("EVENTCLUSTER_SEEDS")
                ?? string.Join(",", EventClusterClientOptions.DefaultSeeds)),
            parsed.Value<TimeSpan?>("--timeout"),
            LoadTls(parsed));
        return parsed.Command switch
        {
            "send" => await SendCommand.RunAsync(parsed, connection),
            "get" => await GetCommand.RunAsync(parsed, connection),
            "status" => await StatusCommand.RunAsync(parsed, connection),
            "load" => await LoadCommand.RunAsync(parsed, connection),
            "verify" => await VerifyCommand.RunAsync(parsed, connection),
            "history" => await HistoryCommand.RunAsync(parsed, connection),
            "subscribe" => await SubscribeCommand.RunAsync(parsed, connection),
            "groups" => await GroupsCommand.RunAsync(parsed, connection),
            "erase" => await EraseCommand.RunAsync(parsed, connection),
            "webhooks" => await WebhooksCommand.RunAsync(parsed, connection),
            _ => throw new UsageException($"'{parsed.Command}' needs a command: run 'eventcluster {parsed.Command} --help'"),
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
        return ExitCodes.Unavailable;
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
}

static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadTls(Arguments parsed)
{
    var path = parsed.Value<string>("--tls-certificate") ?? NonEmpty(Environment.GetEnvironmentVariable(RemoteTls.CertificateVariable));
    var password = parsed.Value<string>("--tls-password") ?? NonEmpty(Environment.GetEnvironmentVariable(RemoteTls.PasswordVariable));
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
