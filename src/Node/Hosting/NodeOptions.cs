using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using EventCluster.Messages.Validation;
using EventCluster.Node.Journal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace EventCluster.Node.Hosting;

/// <summary>
/// The node's options as configured in the <c>EventCluster</c> section: the text of each, or null
/// where none is configured and the default applies. Text rather than numbers: the binder's failed
/// conversion would not name the option, and <see cref="NodeOptionsValidator"/> checks a value
/// from any source by the same rule and with the same message as one from the command line.
/// </summary>
public sealed class NodeOptions
{
    public string? Host { get; set; }
    public string? BindHost { get; set; }
    public string? Port { get; set; }
    public string? HttpPort { get; set; }
    public string? Seeds { get; set; }
    public string? Journal { get; set; }
    public string? DataDir { get; set; }
    public string? TlsCertificate { get; set; }
    public string? TlsPassword { get; set; }
    public string? ApiToken { get; set; }
    public string? ApiTokens { get; set; }
    public string? ProtectMetrics { get; set; }
    public string? HttpCertificate { get; set; }
    public string? HttpCertificatePassword { get; set; }
    public string? MaxStreams { get; set; }
    public string? StreamBuffer { get; set; }
    public string? StreamHeartbeat { get; set; }
    public string? RecentEvents { get; set; }
    public string? RateLimitWrites { get; set; }
    public string? RateLimitStreams { get; set; }
    public string? SecretsKeyFile { get; set; }
    public string? SecretsKey { get; set; }
    public string? AllowPlaintextSecrets { get; set; }
    public string? WebhookAllowedHosts { get; set; }
    public string? Discovery { get; set; }
    public string? ManagementPort { get; set; }
    public string? DiscoveryEndpoints { get; set; }
    public string? DiscoveryLabelSelector { get; set; }
    public string? RequiredContactPoints { get; set; }
    public string? StableMargin { get; set; }
    public string? Retention { get; set; }

    /// <summary>Binds and validates the options of <paramref name="configuration"/>; throws <see cref="OptionsValidationException"/> naming each bad one.</summary>
    public static NodeOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(NodeConfiguration.SectionName);
        using var services = new ServiceCollection()
            .AddSingleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>()
            .AddOptions<NodeOptions>().Configure(options => options.ReadFrom(section)).Services
            .BuildServiceProvider();
        return services.GetRequiredService<IOptions<NodeOptions>>().Value;
    }

    // Key by key rather than with the binder: a list in appsettings.json ("Seeds": ["a:1", "b:2"])
    // is a section with children, which the binder cannot put in a string, and a value from the
    // environment or the command line (a higher layer) must win over such a list.
    private void ReadFrom(IConfigurationSection section)
    {
        string? Read(string key)
        {
            var entry = section.GetSection(key);
            if (NonBlank(entry.Value) is { } value)
                return value;
            var items = entry.GetChildren().Select(child => NonBlank(child.Value)).OfType<string>().ToList();
            return items.Count > 0 ? string.Join(",", items) : null;
        }

        Host = Read(nameof(Host));
        BindHost = Read(nameof(BindHost));
        Port = Read(nameof(Port));
        HttpPort = Read(nameof(HttpPort));
        Seeds = Read(nameof(Seeds));
        Journal = Read(nameof(Journal));
        DataDir = Read(nameof(DataDir));
        TlsCertificate = Read(nameof(TlsCertificate));
        TlsPassword = Read(nameof(TlsPassword));
        ApiToken = Read(nameof(ApiToken));
        ApiTokens = Read(nameof(ApiTokens));
        ProtectMetrics = Read(nameof(ProtectMetrics));
        HttpCertificate = Read(nameof(HttpCertificate));
        HttpCertificatePassword = Read(nameof(HttpCertificatePassword));
        MaxStreams = Read(nameof(MaxStreams));
        StreamBuffer = Read(nameof(StreamBuffer));
        StreamHeartbeat = Read(nameof(StreamHeartbeat));
        RecentEvents = Read(nameof(RecentEvents));
        RateLimitWrites = Read(nameof(RateLimitWrites));
        RateLimitStreams = Read(nameof(RateLimitStreams));
        SecretsKeyFile = Read(nameof(SecretsKeyFile));
        SecretsKey = Read(nameof(SecretsKey));
        AllowPlaintextSecrets = Read(nameof(AllowPlaintextSecrets));
        WebhookAllowedHosts = Read(nameof(WebhookAllowedHosts));
        Discovery = Read(nameof(Discovery));
        ManagementPort = Read(nameof(ManagementPort));
        DiscoveryEndpoints = Read(nameof(DiscoveryEndpoints));
        DiscoveryLabelSelector = Read(nameof(DiscoveryLabelSelector));
        RequiredContactPoints = Read(nameof(RequiredContactPoints));
        StableMargin = Read(nameof(StableMargin));
        Retention = Read(nameof(Retention));
    }

    internal static string? NonBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>The rules of the node's options, each failure in the words of the option it is about.</summary>
public sealed partial class NodeOptionsValidator : IValidateOptions<NodeOptions>
{
    /// <summary>The range of each whole-number option, with its default.</summary>
    internal static readonly (int Default, int Min, int Max) MaxStreams = (100, 1, 100_000),
        StreamBuffer = (1000, 10, 1_000_000),
        StreamHeartbeat = (15, 1, 3600),
        RecentEvents = (20_000, 1000, 10_000_000),
        RequiredContactPoints = (2, 1, 1000),
        StableMarginSeconds = (5, 1, 600),
        // Rate limits default above what one client pushes through one node (the benchmark's HTTP
        // load generator, 1,024 requests in flight from one address, stays far below), so that
        // only a configured limit ever answers 429.
        RateLimitWrites = (50_000, 0, 10_000_000),
        RateLimitStreams = (1_000, 0, 10_000_000);

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, NodeOptions options)
    {
        var failures = Failures(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static IEnumerable<string?> FailuresOrNull(NodeOptions options)
    {
        yield return Port("--port", options.Port, allowZero: false);
        yield return Port("--http-port", options.HttpPort, allowZero: true);
        yield return Parses("--seeds", options.Seeds, value => SeedList.Parse(value), prefix: "");
        yield return Parses("--journal", options.Journal, value => JournalSettings.Parse(value), prefix: "--journal ");
        if (options.TlsPassword is not null && options.TlsCertificate is null)
            yield return "--tls-password is given without --tls-certificate";
        if (options.HttpCertificatePassword is not null && options.HttpCertificate is null)
            yield return "--http-certificate-password is given without --http-certificate";
        if (options.ProtectMetrics?.ToLowerInvariant() is not (null or "true" or "false"))
            yield return $"--protect-metrics '{options.ProtectMetrics}' must be true or false";
        yield return Parses("--webhook-allowed-hosts", options.WebhookAllowedHosts,
            value => Webhooks.WebhookAddressPolicy.Parse(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)), prefix: "");
        yield return Count("--max-streams", options.MaxStreams, MaxStreams);
        yield return Count("--stream-buffer", options.StreamBuffer, StreamBuffer);
        yield return Count("--stream-heartbeat", options.StreamHeartbeat, StreamHeartbeat);
        yield return Count("--recent-events", options.RecentEvents, RecentEvents);
        yield return Rate("--rate-limit-writes", options.RateLimitWrites);
        yield return Rate("--rate-limit-streams", options.RateLimitStreams);
        if (options.SecretsKeyFile is not null && options.SecretsKey is not null)
            yield return "--secrets-key-file and --secrets-key (EVENTCLUSTER_SECRETS_KEY) exclude each other: give the keys one way";
        if (options.SecretsKey is { } keys)
            yield return Parses("--secrets-key", keys, value => Webhooks.WebhookSecrets.Parse(value, "--secrets-key", false), prefix: "");
        if (options.AllowPlaintextSecrets?.ToLowerInvariant() is not (null or "true" or "false"))
            yield return $"--allow-plaintext-secrets '{options.AllowPlaintextSecrets}' must be true or false";
        yield return Parses("--retention", options.Retention, value => Entities.RetentionRule.Parse(value), prefix: "--retention: ");
        foreach (var failure in DiscoveryFailures(options))
            yield return failure;
    }

    // Static seeds are the default; discovery replaces them only when --discovery is given, and its
    // options mean nothing without it. Both at once would leave unclear who forms the cluster.
    private static IEnumerable<string?> DiscoveryFailures(NodeOptions options)
    {
        var method = options.Discovery?.ToLowerInvariant();
        var given = new (string Option, string? Value)[]
        {
            ("--management-port", options.ManagementPort), ("--discovery-endpoints", options.DiscoveryEndpoints),
            ("--discovery-label-selector", options.DiscoveryLabelSelector), ("--required-contact-points", options.RequiredContactPoints),
            ("--stable-margin", options.StableMargin),
        }.Where(option => option.Value is not null).Select(option => option.Option).ToList();
        if (method is null)
        {
            yield return given.Count > 0 ? $"{given[0]} is given without --discovery (config or kubernetes)" : null;
            yield break;
        }

        if (!ClusterDiscovery.Methods.Contains(method))
        {
            yield return $"--discovery '{options.Discovery}' is not a discovery method (config or kubernetes)";
            yield break;
        }

        if (options.Seeds is not null)
            yield return "--seeds and --discovery exclude each other: with discovery the nodes find each other " +
                         "through their management endpoints; give one of the two";
        yield return Port("--management-port", options.ManagementPort, allowZero: false);
        yield return Count("--required-contact-points", options.RequiredContactPoints, RequiredContactPoints);
        yield return Count("--stable-margin", options.StableMargin, StableMarginSeconds);
        if (method == ClusterDiscovery.Config)
        {
            if (options.DiscoveryLabelSelector is not null)
                yield return "--discovery-label-selector is for --discovery kubernetes, not config";
            if (options.DiscoveryEndpoints is null)
            {
                yield return "--discovery config needs --discovery-endpoints: the management endpoints (host:port,...) of the nodes";
                yield break;
            }

            yield return Parses("--discovery-endpoints", options.DiscoveryEndpoints,
                value => SeedList.ParseEndpoints(value, "--discovery-endpoints", "discovery endpoint"), prefix: "");
            // The default counts too: one endpoint with the default of two contact points never forms.
            var required = options.RequiredContactPoints is null ? RequiredContactPoints.Default
                : int.TryParse(options.RequiredContactPoints, CultureInfo.InvariantCulture, out var count) ? count : 0;
            if (options.DiscoveryEndpoints.Split(',', StringSplitOptions.RemoveEmptyEntries).Length is var listed && required > listed)
                yield return $"--required-contact-points {required}{(options.RequiredContactPoints is null ? " (the default)" : "")} " +
                             $"is more than the {listed} --discovery-endpoints: the cluster could never form";
        }
        else
        {
            if (options.DiscoveryEndpoints is not null)
                yield return "--discovery-endpoints is for --discovery config, not kubernetes";
            if (options.DiscoveryLabelSelector is { } selector && !LabelSelector().IsMatch(selector))
                yield return $"--discovery-label-selector '{selector}' is not a Kubernetes label selector (for example app.kubernetes.io/name=eventcluster)";
        }
    }

    // The characters of equality- and set-based selectors (app=x,tier!=y,env in (a,b),!canary). Braces
    // would break the discovery plugin, which formats the selector; the API server checks the rest.
    [GeneratedRegex(@"^[A-Za-z0-9!][A-Za-z0-9._/=!,() -]*$")]
    private static partial Regex LabelSelector();

    private static IEnumerable<string> Failures(NodeOptions options) => FailuresOrNull(options).OfType<string>();

    private static string? Port(string option, string? value, bool allowZero) =>
        value is null || (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535 && (port > 0 || allowZero))
            ? null
            : $"{option} '{value}' is not a port ({(allowZero ? 0 : 1)}-65535)";

    private static string? Count(string option, string? value, (int Default, int Min, int Max) range) =>
        value is null || (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= range.Min && count <= range.Max)
            ? null
            : $"{option} '{value}' must be a whole number from {range.Min} to {range.Max}";

    private static string? Rate(string option, string? value) =>
        string.Equals(value, "off", StringComparison.OrdinalIgnoreCase) || Count(option, value, RateLimitWrites) is null
            ? null
            : $"{option} '{value}' must be off or a whole number of requests per second from 0 (off) to {RateLimitWrites.Max}";

    private static string? Parses(string option, string? value, Action<string> parse, string prefix)
    {
        if (value is null)
            return null;
        try
        {
            parse(value);
            return null;
        }
        catch (FormatException ex)
        {
            return prefix + ex.Message;
        }
    }
}

/// <summary>
/// The layers of the node's configuration, lowest first: appsettings.json, then the
/// <c>EVENTCLUSTER_*</c> environment variables, then the command line, each mapped onto the keys
/// of the <c>EventCluster</c> section.
/// </summary>
public static class NodeConfiguration
{
    /// <summary>The section of appsettings.json (and of the layered configuration) the node's options are in.</summary>
    public const string SectionName = "EventCluster";

    /// <summary>What every node variable starts with; the environment-variables provider strips it.</summary>
    public const string VariablePrefix = "EVENTCLUSTER_";

    /// <summary>Adds the process's <c>EVENTCLUSTER_*</c> environment variables, mapped onto the section's keys.</summary>
    public static IConfigurationBuilder AddNodeEnvironmentVariables(this IConfigurationBuilder builder) =>
        builder.AddNodeVariables(new ConfigurationBuilder().AddEnvironmentVariables(VariablePrefix).Build());

    /// <summary>
    /// Adds node variables, mapped onto the section's keys (<c>EVENTCLUSTER_BIND_HOST</c> →
    /// <c>EventCluster:BindHost</c>), from <paramref name="variables"/>: keyed by their names
    /// without <see cref="VariablePrefix"/>, as the environment-variables provider gives them.
    /// A blank variable counts as not set.
    /// </summary>
    public static IConfigurationBuilder AddNodeVariables(this IConfigurationBuilder builder, IConfiguration variables) =>
        builder.AddInMemoryCollection(NodeSettings.Options
            .Select(option => (option.Key, Value: NodeOptions.NonBlank(variables[option.Variable[VariablePrefix.Length..]])))
            .Where(option => option.Value is not null)
            .Select(option => KeyValuePair.Create($"{SectionName}:{option.Key}", option.Value)));

    /// <summary>Adds the options given on <paramref name="commandLine"/>, mapped onto the section's keys; added last, they win.</summary>
    public static IConfigurationBuilder AddNodeCommandLine(this IConfigurationBuilder builder, ParseResult commandLine) =>
        builder.AddInMemoryCollection(NodeSettings.Options
            .Select(option => (option.Key, Value: NodeOptions.NonBlank(NodeCommandLine.ValueOf(commandLine, option.Option))))
            .Where(option => option.Value is not null)
            .Select(option => KeyValuePair.Create($"{SectionName}:{option.Key}", option.Value)));
}
