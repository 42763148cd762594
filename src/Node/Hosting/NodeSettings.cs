using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using EventCluster.Messages;
using EventCluster.Messages.Security;
using EventCluster.Messages.Validation;
using Microsoft.Extensions.Configuration;

namespace EventCluster.Node.Hosting;

/// <summary>A node option that is unknown, malformed or out of range.</summary>
public sealed class NodeOptionsException(string message) : Exception(message);

/// <summary>
/// Where this node listens, whom it joins and where it keeps its data. Each value comes from
/// the command line, else the <c>EVENTCLUSTER_*</c> environment variable, else the
/// <c>EventCluster</c> section of appsettings.json, else its default.
/// </summary>
public sealed record NodeSettings(
    string Host,
    string BindHost,
    int Port,
    int HttpPort,
    IReadOnlyList<string> Seeds,
    JournalSettings Journal,
    string DataDir,
    X509Certificate2? TlsCertificate = null,
    string? ApiToken = null,
    int MaxStreams = 100,
    int StreamBuffer = 1000,
    int StreamHeartbeatSeconds = 15,
    int RecentEvents = 20_000,
    IReadOnlySet<string>? WebhookAllowedHosts = null)
{
    /// <summary>The options, their variables, configuration keys and meanings, and the value each takes, as --help lists them.</summary>
    public static readonly IReadOnlyList<(string Option, string Variable, string Key, string Meaning, string ValueName)> Options =
    [
        ("--host", "EVENTCLUSTER_HOST", "Host", "public host name of this node (default 127.0.0.1)", "HOST"),
        ("--bind-host", "EVENTCLUSTER_BIND_HOST", "BindHost", "address to listen on (default: same as --host; 0.0.0.0 in containers)", "ADDRESS"),
        ("--port", "EVENTCLUSTER_PORT", "Port", "Akka.Remote port (default 4053)", "PORT"),
        ("--http-port", "EVENTCLUSTER_HTTP_PORT", "HttpPort", "HTTP API port (default: port + 1000; 0 disables)", "PORT"),
        ("--seeds", "EVENTCLUSTER_SEEDS", "Seeds", "comma-separated host:port of the seed nodes (default 127.0.0.1:4053)", "HOST:PORT,..."),
        ("--journal", "EVENTCLUSTER_JOURNAL", "Journal", "sqlite:PATH or postgres:CONNECTION-STRING (default sqlite:data/eventcluster.db)", "JOURNAL"),
        ("--data-dir", "EVENTCLUSTER_DATA_DIR", "DataDir", "node-local files (default data/node-<port>)", "DIRECTORY"),
        ("--tls-certificate", RemoteTls.CertificateVariable, "TlsCertificate",
            "a .pfx: TLS with mutual authentication between nodes and clients (default: off)", "PFX"),
        ("--tls-password", RemoteTls.PasswordVariable, "TlsPassword", "password of the .pfx", "PASSWORD"),
        ("--api-token", "EVENTCLUSTER_API_TOKEN", "ApiToken", "bearer token required by the HTTP write endpoints (default: none)", "TOKEN"),
        ("--max-streams", "EVENTCLUSTER_MAX_STREAMS", "MaxStreams",
            "Server-Sent Event streams this node serves at once; more get 503 (default 100)", "COUNT"),
        ("--stream-buffer", "EVENTCLUSTER_STREAM_BUFFER", "StreamBuffer",
            "events a stream may buffer; a live subscriber that falls this far behind is disconnected (default 1000)", "COUNT"),
        ("--stream-heartbeat", "EVENTCLUSTER_STREAM_HEARTBEAT", "StreamHeartbeat",
            "seconds between heartbeat comments on a quiet stream (default 15)", "SECONDS"),
        ("--recent-events", "EVENTCLUSTER_RECENT_EVENTS", "RecentEvents",
            "recent events kept in memory for live subscribers (default 20000)", "COUNT"),
        ("--webhook-allowed-hosts", "EVENTCLUSTER_WEBHOOK_ALLOWED_HOSTS", "WebhookAllowedHosts",
            "comma-separated host names webhook subscriptions may call (default: any)", "HOST,..."),
    ];

    /// <summary>The Akka address of this node.</summary>
    public string SelfAddress => $"{Protocol}://{ClusterNames.SystemName}@{Host}:{Port}";

    /// <summary>The Akka addresses of the seed nodes.</summary>
    public IReadOnlyList<string> SeedAddresses => Seeds.Select(seed => $"{Protocol}://{ClusterNames.SystemName}@{seed}").ToList();

    private string Protocol => ClusterNames.Protocol(TlsCertificate is not null);

    /// <summary>Reads the settings; throws <see cref="NodeOptionsException"/> on bad input.</summary>
    public static NodeSettings Load(string[] args, Func<string, string?> environment, IConfiguration configuration) =>
        Load(NodeCommandLine.Parse(args), environment, configuration);

    /// <summary>Reads the settings from a parsed command line; throws <see cref="NodeOptionsException"/> on bad input.</summary>
    public static NodeSettings Load(ParseResult commandLine, Func<string, string?> environment, IConfiguration configuration)
    {
        if (NodeCommandLine.FirstError(commandLine) is { } error)
            throw new NodeOptionsException(error);
        var section = configuration.GetSection("EventCluster");

        string? Value(string option)
        {
            var (_, variable, key, _, _) = Options.Single(o => o.Option == option);
            return FromCommandLine(option) ?? NonEmpty(environment(variable)) ?? FromSection(section, key);
        }

        string? FromCommandLine(string option) =>
            NodeCommandLine.ValueOf(commandLine, option) is { } given
                ? NonEmpty(given) ?? throw new NodeOptionsException($"option {option} needs a value")
                : null;

        var host = Value("--host") ?? "127.0.0.1";
        var port = ParsePort("--port", Value("--port"), 4053, allowZero: false);
        var httpPort = ParsePort("--http-port", Value("--http-port"), port + 1000 <= 65535 ? port + 1000 : 0, allowZero: true);
        var seeds = ParseSeeds(Value("--seeds") ?? "127.0.0.1:4053");
        var journal = JournalSettings.Parse(Value("--journal") ?? JournalSettings.Default).ForNode($"{host}:{port}");
        var dataDir = Path.GetFullPath(Value("--data-dir") ?? Path.Combine("data", $"node-{port}"));

        var tlsPassword = Value("--tls-password");
        var tls = Value("--tls-certificate") is { } certificatePath
            ? LoadCertificate(certificatePath, tlsPassword)
            : tlsPassword is null ? null : throw new NodeOptionsException("--tls-password is given without --tls-certificate");

        return new NodeSettings(host, Value("--bind-host") ?? host, port, httpPort, seeds, journal, dataDir, tls, Value("--api-token"),
            ParseCount("--max-streams", Value("--max-streams"), 100, 1, 100_000),
            ParseCount("--stream-buffer", Value("--stream-buffer"), 1000, 10, 1_000_000),
            ParseCount("--stream-heartbeat", Value("--stream-heartbeat"), 15, 1, 3600),
            ParseCount("--recent-events", Value("--recent-events"), 20_000, 1000, 10_000_000),
            Value("--webhook-allowed-hosts") is { } hosts
                ? hosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase)
                : null);
    }

    private static X509Certificate2 LoadCertificate(string path, string? password)
    {
        try
        {
            return RemoteTls.Load(path, password);
        }
        catch (TlsConfigurationException ex)
        {
            throw new NodeOptionsException(ex.Message);
        }
    }

    /// <summary>Parses a comma-separated host:port list; throws <see cref="NodeOptionsException"/> on a malformed entry.</summary>
    public static IReadOnlyList<string> ParseSeeds(string value)
    {
        try
        {
            return SeedList.Parse(value);
        }
        catch (FormatException ex)
        {
            throw new NodeOptionsException(ex.Message);
        }
    }

    private static int ParsePort(string option, string? value, int fallback, bool allowZero)
    {
        if (value is null)
            return fallback;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) ||
            port > 65535 || (port == 0 && !allowZero))
            throw new NodeOptionsException($"{option} '{value}' is not a port ({(allowZero ? 0 : 1)}-65535)");
        return port;
    }

    private static int ParseCount(string option, string? value, int fallback, int min, int max)
    {
        if (value is null)
            return fallback;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < min || count > max)
            throw new NodeOptionsException($"{option} '{value}' must be a whole number from {min} to {max}");
        return count;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    // A list in appsettings.json ("Seeds": ["a:1", "b:2"]) is a section with children, not a value.
    private static string? FromSection(IConfigurationSection section, string key)
    {
        var entry = section.GetSection(key);
        var items = entry.GetChildren().Select(child => child.Value).Where(v => !string.IsNullOrWhiteSpace(v)).ToList();
        return items.Count > 0 ? string.Join(",", items) : NonEmpty(entry.Value);
    }
}
