using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using EventCluster.Messages;
using EventCluster.Messages.Security;
using EventCluster.Messages.Validation;
using EventCluster.Node.Entities;
using EventCluster.Node.Journal;
using EventCluster.Node.Security;
using EventCluster.Node.Telemetry;
using EventCluster.Node.Webhooks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EventCluster.Node.Hosting;

/// <summary>A node option that is unknown, malformed or out of range.</summary>
public sealed class NodeOptionsException(string message) : Exception(message);

/// <summary>
/// Where this node listens, whom it joins and where it keeps its data. Each value comes from
/// the command line, else the <c>EVENTCLUSTER_*</c> environment variable, else the
/// <c>EventCluster</c> section of appsettings.json, else its default
/// (<see cref="NodeConfiguration"/>, <see cref="NodeOptions"/>).
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
    ApiTokens? AccessTokens = null,
    int MaxStreams = 100,
    int StreamBuffer = 1000,
    int StreamHeartbeatSeconds = 15,
    int RecentEvents = 20_000,
    IReadOnlySet<string>? WebhookAllowedHosts = null,
    ClusterDiscovery? Discovery = null,
    X509Certificate2? HttpCertificate = null,
    bool ProtectMetrics = false,
    int RateLimitWrites = 50_000,
    int RateLimitStreams = 1_000,
    WebhookSecrets? SecretKeys = null,
    IReadOnlyList<RetentionRule>? Retention = null)
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
        ("--api-token", "EVENTCLUSTER_API_TOKEN", "ApiToken",
            "one token with every scope, required on /api and for webhook management (default: none)", "TOKEN"),
        ("--api-tokens", "EVENTCLUSTER_API_TOKENS", "ApiTokens",
            "tokens with scopes: a JSON file, or the JSON itself, [{\"name\",\"scopes\":[\"read\",\"write\",\"admin\"],\"sha256\"}] (default: none)", "FILE"),
        ("--protect-metrics", "EVENTCLUSTER_PROTECT_METRICS", "ProtectMetrics",
            "true: GET /metrics needs a token with the read scope, like /api (default false)", "true|false"),
        ("--http-certificate", "EVENTCLUSTER_HTTP_CERTIFICATE", "HttpCertificate",
            "serve the HTTP port as HTTPS only, with this certificate: .pfx/.p12, or PEM with its private key (default: plain HTTP)", "FILE"),
        ("--http-certificate-password", "EVENTCLUSTER_HTTP_CERTIFICATE_PASSWORD", "HttpCertificatePassword",
            "password of the .pfx, or of the PEM's encrypted private key", "PASSWORD"),
        ("--max-streams", "EVENTCLUSTER_MAX_STREAMS", "MaxStreams",
            "Server-Sent Event streams this node serves at once; more get 503 (default 100)", "COUNT"),
        ("--stream-buffer", "EVENTCLUSTER_STREAM_BUFFER", "StreamBuffer",
            "events a stream may buffer; a live subscriber that falls this far behind is disconnected (default 1000)", "COUNT"),
        ("--stream-heartbeat", "EVENTCLUSTER_STREAM_HEARTBEAT", "StreamHeartbeat",
            "seconds between heartbeat comments on a quiet stream (default 15)", "SECONDS"),
        ("--rate-limit-writes", "EVENTCLUSTER_RATE_LIMIT_WRITES", "RateLimitWrites",
            $"/api writes (POST, PUT, DELETE; a batch counts as one) per second per token, or per client address without tokens, on this node; more get 429; 0 or off: no limit (default {NodeOptionsValidator.RateLimitWrites.Default})", "N|off"),
        ("--rate-limit-streams", "EVENTCLUSTER_RATE_LIMIT_STREAMS", "RateLimitStreams",
            $"event streams opened and stream tickets asked for per second per token or client address on this node; more get 429; 0 or off: no limit (default {NodeOptionsValidator.RateLimitStreams.Default})", "N|off"),
        ("--secrets-key-file", "EVENTCLUSTER_SECRETS_KEY_FILE", "SecretsKeyFile",
            "a file of base64 keys (32 bytes each, one a line): webhook secrets are stored encrypted (AES-GCM) under the first, every one decrypts (default: none)", "FILE"),
        ("--secrets-key", "EVENTCLUSTER_SECRETS_KEY", "SecretsKey",
            "the keys themselves, comma-separated, instead of --secrets-key-file (use the variable, not the command line)", "BASE64,..."),
        ("--allow-plaintext-secrets", "EVENTCLUSTER_ALLOW_PLAINTEXT_SECRETS", "AllowPlaintextSecrets",
            "true: without a secrets key, store new webhook secrets in plain text rather than refuse them (default false)", "true|false"),
        ("--recent-events", "EVENTCLUSTER_RECENT_EVENTS", "RecentEvents",
            "recent events kept in memory for live subscribers (default 20000)", "COUNT"),
        ("--webhook-allowed-hosts", "EVENTCLUSTER_WEBHOOK_ALLOWED_HOSTS", "WebhookAllowedHosts",
            "host names, addresses and CIDR ranges webhooks may reach although private, loopback or link-local (default: none)", "HOST,..."),
        ("--discovery", "EVENTCLUSTER_DISCOVERY", "Discovery",
            "form or join the cluster through Akka.Management cluster bootstrap instead of --seeds: config or kubernetes (default: off)", "METHOD"),
        ("--management-port", "EVENTCLUSTER_MANAGEMENT_PORT", "ManagementPort",
            "Akka.Management HTTP port the bootstrap probes, with --discovery (default 8558)", "PORT"),
        ("--discovery-endpoints", "EVENTCLUSTER_DISCOVERY_ENDPOINTS", "DiscoveryEndpoints",
            "comma-separated management endpoints (host:management-port) of the nodes, for --discovery config", "HOST:PORT,..."),
        ("--discovery-label-selector", "EVENTCLUSTER_DISCOVERY_LABEL_SELECTOR", "DiscoveryLabelSelector",
            $"label selector of the node pods, for --discovery kubernetes (default {ClusterDiscovery.DefaultLabelSelector})", "SELECTOR"),
        ("--required-contact-points", "EVENTCLUSTER_REQUIRED_CONTACT_POINTS", "RequiredContactPoints",
            "nodes that must answer before the lowest of them forms a new cluster, with --discovery (default 2)", "COUNT"),
        ("--stable-margin", "EVENTCLUSTER_STABLE_MARGIN", "StableMargin",
            "seconds the discovered nodes must stay unchanged before a new cluster is formed, with --discovery (default 5)", "SECONDS"),
        ("--retention", "EVENTCLUSTER_RETENTION", "Retention",
            "erase events of these types once older than their age, TYPE=AGE,... with s, m, h or d: audit=30d,session=12h; the same on every node (default: none)",
            "TYPE=AGE,..."),
    ];

    /// <summary>The tokens the node's API and webhook management accept (none: open).</summary>
    public ApiTokens Tokens => AccessTokens ?? ApiTokens.None;

    /// <summary>The keys that seal webhook secrets (none: secrets refused, or plain text when allowed).</summary>
    public WebhookSecrets Secrets => SecretKeys ?? WebhookSecrets.None();

    /// <summary>Where webhooks may connect, from <see cref="WebhookAllowedHosts"/>.</summary>
    public WebhookAddressPolicy WebhookAddresses => WebhookAddressPolicy.Parse(WebhookAllowedHosts ?? new HashSet<string>());

    /// <summary>The Akka address of this node.</summary>
    public string SelfAddress => $"{Protocol}://{ClusterNames.SystemName}@{Host}:{Port}";

    /// <summary>Whom this node asks to let it in, for the log: its seeds, or its discovery.</summary>
    public string JoinDescription => Discovery?.Description ?? $"seeds {string.Join(",", Seeds)}";

    /// <summary>The Akka addresses of the seed nodes.</summary>
    public IReadOnlyList<string> SeedAddresses => Seeds.Select(seed => $"{Protocol}://{ClusterNames.SystemName}@{seed}").ToList();

    /// <summary>What the node's telemetry needs: metrics where the node serves HTTP, the node's address as its identity.</summary>
    public TelemetryOptions Telemetry => new(HttpPort > 0, SelfAddress);

    private string Protocol => ClusterNames.Protocol(TlsCertificate is not null);

    /// <summary>
    /// Reads the settings from <paramref name="args"/>, the variables <paramref name="environment"/> gives and
    /// <paramref name="appsettings"/>, layered as the node layers them; throws <see cref="NodeOptionsException"/> on bad input.
    /// </summary>
    public static NodeSettings Load(string[] args, Func<string, string?> environment, IConfiguration appsettings)
    {
        var commandLine = NodeCommandLine.Parse(args);
        // The variables keyed as the environment-variables provider keys them, without the prefix.
        var variables = new ConfigurationBuilder().AddInMemoryCollection(Options.Select(option =>
            KeyValuePair.Create(option.Variable[NodeConfiguration.VariablePrefix.Length..], environment(option.Variable)))).Build();
        return Load(commandLine, new ConfigurationBuilder()
            .AddConfiguration(appsettings)
            .AddNodeVariables(variables)
            .AddNodeCommandLine(commandLine)
            .Build());
    }

    /// <summary>
    /// Reads the settings from the <c>EventCluster</c> section of <paramref name="configuration"/>, in which
    /// <paramref name="commandLine"/> is the top layer (<see cref="NodeConfiguration"/>); throws
    /// <see cref="NodeOptionsException"/> on bad input.
    /// </summary>
    public static NodeSettings Load(ParseResult commandLine, IConfiguration configuration)
    {
        if (NodeCommandLine.FirstError(commandLine) is { } error)
            throw new NodeOptionsException(error);
        NodeOptions options;
        try
        {
            options = NodeOptions.Read(configuration);
        }
        catch (OptionsValidationException ex)
        {
            throw new NodeOptionsException(ex.Failures.First());
        }

        return From(options);
    }

    /// <summary>The settings of options that <see cref="NodeOptionsValidator"/> passed, with the defaults where none are given.</summary>
    private static NodeSettings From(NodeOptions options)
    {
        var host = options.Host ?? "127.0.0.1";
        var port = Number(options.Port, 4053);
        var httpPort = Number(options.HttpPort, port + 1000 <= 65535 ? port + 1000 : 0);
        var discovery = options.Discovery is { } method ? DiscoveryOf(method.ToLowerInvariant(), options) : null;
        // Discovery replaces the seeds: the validator refuses both at once.
        var seeds = discovery is null ? SeedList.Parse(options.Seeds ?? "127.0.0.1:4053") : [];
        var journal = JournalSettings.Parse(options.Journal ?? JournalSettings.Default).ForNode($"{host}:{port}");
        var dataDir = Path.GetFullPath(options.DataDir ?? Path.Combine("data", $"node-{port}"));
        var tls = options.TlsCertificate is { } certificate ? LoadCertificate(certificate, options.TlsPassword) : null;

        var tokens = ReadTokens(options.ApiToken, options.ApiTokens);
        var https = options.HttpCertificate is { } httpCertificate ? HttpsCertificate.Load(httpCertificate, options.HttpCertificatePassword) : null;

        return new NodeSettings(host, options.BindHost ?? host, port, httpPort, seeds, journal, dataDir, tls, tokens,
            Number(options.MaxStreams, NodeOptionsValidator.MaxStreams.Default),
            Number(options.StreamBuffer, NodeOptionsValidator.StreamBuffer.Default),
            Number(options.StreamHeartbeat, NodeOptionsValidator.StreamHeartbeat.Default),
            Number(options.RecentEvents, NodeOptionsValidator.RecentEvents.Default),
            options.WebhookAllowedHosts?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .ToHashSet(StringComparer.OrdinalIgnoreCase),
            discovery, https, string.Equals(options.ProtectMetrics, "true", StringComparison.OrdinalIgnoreCase),
            RatePerSecond(options.RateLimitWrites, NodeOptionsValidator.RateLimitWrites.Default),
            RatePerSecond(options.RateLimitStreams, NodeOptionsValidator.RateLimitStreams.Default),
            ReadSecretsKeys(options),
            options.Retention is { } retention ? RetentionRule.Parse(retention) : null);
    }

    /// <summary>The tokens of --api-token and --api-tokens (a file, or the JSON itself when it starts with '[').</summary>
    private static ApiTokens ReadTokens(string? token, string? tokens)
    {
        string? json = null;
        var source = "--api-tokens";
        if (tokens is not null && tokens.StartsWith('['))
            json = tokens;
        else if (tokens is not null)
        {
            source = $"--api-tokens file '{tokens}'";
            json = ReadFile(tokens, source);
        }

        return Parsed(() => ApiTokens.From(token, json, source));
    }

    /// <summary>The text of a file an option names; a node option error naming <paramref name="source"/> when it cannot be read.</summary>
    private static string ReadFile(string path, string source)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new NodeOptionsException($"{source} cannot be read: {ex.Message}");
        }
    }

    /// <summary>What <paramref name="parse"/> returns; its <see cref="FormatException"/> as a node option error.</summary>
    private static T Parsed<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (FormatException ex)
        {
            throw new NodeOptionsException(ex.Message);
        }
    }

    private static ClusterDiscovery DiscoveryOf(string method, NodeOptions options) => new(
        method,
        Number(options.ManagementPort, ClusterDiscovery.DefaultManagementPort),
        method == ClusterDiscovery.Config
            ? SeedList.ParseEndpoints(options.DiscoveryEndpoints!, "--discovery-endpoints", "discovery endpoint")
            : [],
        method == ClusterDiscovery.Kubernetes ? options.DiscoveryLabelSelector ?? ClusterDiscovery.DefaultLabelSelector : null,
        Number(options.RequiredContactPoints, NodeOptionsValidator.RequiredContactPoints.Default),
        TimeSpan.FromSeconds(Number(options.StableMargin, NodeOptionsValidator.StableMarginSeconds.Default)));

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

    /// <summary>The webhook secrets keys of --secrets-key-file or --secrets-key (the validator refuses both at once).</summary>
    private static WebhookSecrets ReadSecretsKeys(NodeOptions options)
    {
        var allowPlaintext = string.Equals(options.AllowPlaintextSecrets, "true", StringComparison.OrdinalIgnoreCase);
        var (text, source) = (options.SecretsKey, "--secrets-key");
        if (options.SecretsKeyFile is { } file)
        {
            source = $"--secrets-key-file '{file}'";
            text = ReadFile(file, source);
        }

        return text is { } keys ? Parsed(() => WebhookSecrets.Parse(keys, source, allowPlaintext)) : WebhookSecrets.None(allowPlaintext);
    }

    /// <summary>A rate limit's value: "off" is 0, no limit.</summary>
    private static int RatePerSecond(string? value, int fallback) =>
        string.Equals(value, "off", StringComparison.OrdinalIgnoreCase) ? 0 : Number(value, fallback);

    private static int Number(string? value, int fallback) =>
        value is null ? fallback : int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
}
