using EventCluster.Node.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventCluster.Tests.Unit;

public sealed class NodeSettingsSpecs
{
    private static IConfiguration Config(Dictionary<string, string?>? values = null) =>
        new ConfigurationBuilder().AddInMemoryCollection(values ?? []).Build();

    private static Func<string, string?> Env(Dictionary<string, string>? values = null) =>
        name => values?.GetValueOrDefault(name);

    [Fact]
    public void Should_use_the_documented_defaults()
    {
        var settings = NodeSettings.Load([], Env(), Config());

        Assert.Equal(("127.0.0.1", "127.0.0.1", 4053, 5053), (settings.Host, settings.BindHost, settings.Port, settings.HttpPort));
        Assert.Equal(["127.0.0.1:4053"], settings.Seeds);
        Assert.Equal("sqlite", settings.Journal.Kind);
        Assert.EndsWith(Path.Combine("data", "node-4053"), settings.DataDir);
    }

    [Fact]
    public void Should_read_rate_limits_with_off_and_0_meaning_none()
    {
        var defaults = NodeSettings.Load([], Env(), Config());
        var off = NodeSettings.Load(["--rate-limit-writes", "off"], Env(new() { ["EVENTCLUSTER_RATE_LIMIT_STREAMS"] = "0" }), Config());
        var set = NodeSettings.Load([], Env(), Config(new() { ["EventCluster:RateLimitWrites"] = "20", ["EventCluster:RateLimitStreams"] = "3" }));

        Assert.Equal((50_000, 1_000), (defaults.RateLimitWrites, defaults.RateLimitStreams));
        Assert.Equal((0, 0), (off.RateLimitWrites, off.RateLimitStreams));
        Assert.Equal((20, 3), (set.RateLimitWrites, set.RateLimitStreams));
    }

    [Fact]
    public void Should_read_secrets_keys_from_the_environment_the_first_sealing()
    {
        var (first, second) = (new byte[32], Enumerable.Repeat((byte)7, 32).ToArray());
        var keys = $"{Convert.ToBase64String(first)}, {Convert.ToBase64String(second)}";

        var settings = NodeSettings.Load([], Env(new() { ["EVENTCLUSTER_SECRETS_KEY"] = keys }), Config());
        var none = NodeSettings.Load([], Env(), Config());

        Assert.Equal(EventCluster.Node.Webhooks.WebhookSecrets.IdOf(first), settings.Secrets.SealingKeyId);
        Assert.False(none.Secrets.CanSeal);
        Assert.False(none.Secrets.AllowPlaintext);
    }

    [Fact]
    public void Should_prefer_command_line_over_environment_over_appsettings()
    {
        var config = Config(new() { ["EventCluster:Port"] = "4100", ["EventCluster:Host"] = "from-settings", ["EventCluster:HttpPort"] = "0" });
        var env = Env(new() { ["EVENTCLUSTER_PORT"] = "4200", ["EVENTCLUSTER_BIND_HOST"] = "0.0.0.0" });

        var settings = NodeSettings.Load(["--port", "4300"], env, config);

        Assert.Equal(4300, settings.Port);
        Assert.Equal("0.0.0.0", settings.BindHost);
        Assert.Equal("from-settings", settings.Host);
        Assert.Equal(0, settings.HttpPort);
    }

    [Fact]
    public void Should_read_a_seed_list_from_an_appsettings_array()
    {
        var config = Config(new() { ["EventCluster:Seeds:0"] = "10.0.0.1:4053", ["EventCluster:Seeds:1"] = "10.0.0.2:4053" });

        var settings = NodeSettings.Load([], Env(), config);

        Assert.Equal(["10.0.0.1:4053", "10.0.0.2:4053"], settings.Seeds);
        Assert.Equal(["akka.tcp://eventcluster@10.0.0.1:4053", "akka.tcp://eventcluster@10.0.0.2:4053"], settings.SeedAddresses);
    }

    [Fact]
    public void Should_keep_static_seeds_unless_discovery_is_given()
    {
        var settings = NodeSettings.Load([], Env(), Config());

        Assert.Null(settings.Discovery);
        Assert.Equal("seeds 127.0.0.1:4053", settings.JoinDescription);
    }

    [Fact]
    public void Should_replace_the_seeds_by_config_discovery_with_its_options_from_the_environment()
    {
        var env = Env(new()
        {
            ["EVENTCLUSTER_DISCOVERY"] = "config",
            ["EVENTCLUSTER_DISCOVERY_ENDPOINTS"] = "10.0.0.1:8558, 10.0.0.2:8558,10.0.0.3:8558",
            ["EVENTCLUSTER_REQUIRED_CONTACT_POINTS"] = "3",
            ["EVENTCLUSTER_STABLE_MARGIN"] = "10",
        });

        var settings = NodeSettings.Load(["--management-port", "9000"], env, Config());

        Assert.Empty(settings.Seeds);
        var discovery = settings.Discovery!;
        Assert.Equal((ClusterDiscovery.Config, 9000, (string?)null, 3, TimeSpan.FromSeconds(10)),
            (discovery.Method, discovery.ManagementPort, discovery.LabelSelector, discovery.RequiredContactPoints, discovery.StableMargin));
        Assert.Equal(["10.0.0.1:8558", "10.0.0.2:8558", "10.0.0.3:8558"], discovery.Endpoints);
        Assert.StartsWith("config discovery of 10.0.0.1:8558,", settings.JoinDescription);
    }

    [Fact]
    public void Should_read_kubernetes_discovery_from_appsettings_with_the_documented_defaults()
    {
        var settings = NodeSettings.Load([], Env(), Config(new() { ["EventCluster:Discovery"] = "Kubernetes" }));

        var discovery = settings.Discovery!;
        Assert.Equal((ClusterDiscovery.Kubernetes, 8558, "app.kubernetes.io/name=eventcluster", 2, TimeSpan.FromSeconds(5)),
            (discovery.Method, discovery.ManagementPort, discovery.LabelSelector, discovery.RequiredContactPoints, discovery.StableMargin));
        Assert.Empty(discovery.Endpoints);
    }

    [Theory]
    [InlineData("--host=", "needs a value")]
    [InlineData("--port 1 --port 2", "given twice")]
    [InlineData("--http-port -1", "is not a port")]
    [InlineData("--seeds a:1,b", "seed 'b' is not host:port")]
    [InlineData("--journal sqlite:", "needs a file path")]
    [InlineData("--journal postgres:Host=h;Bogus=1", "malformed")]
    [InlineData("--prot 4053", "unknown option '--prot'")]
    [InlineData("--port", "option --port needs a value")]
    [InlineData("4053", "unexpected argument '4053'")]
    [InlineData("--discovery dns", "--discovery 'dns' is not a discovery method (config or kubernetes)")]
    [InlineData("--discovery config", "--discovery config needs --discovery-endpoints")]
    [InlineData("--seeds a:1 --discovery kubernetes", "--seeds and --discovery exclude each other")]
    [InlineData("--stable-margin 3", "--stable-margin is given without --discovery")]
    [InlineData("--discovery kubernetes --discovery-endpoints a:1", "--discovery-endpoints is for --discovery config")]
    [InlineData("--discovery config --discovery-endpoints a:1 --discovery-label-selector app=x", "--discovery-label-selector is for --discovery kubernetes")]
    [InlineData("--discovery config --discovery-endpoints a:1,b", "discovery endpoint 'b' is not host:port")]
    [InlineData("--discovery config --discovery-endpoints a:1,b:1 --required-contact-points 3", "more than the 2 --discovery-endpoints")]
    [InlineData("--discovery config --discovery-endpoints a:1", "2 (the default) is more than the 1 --discovery-endpoints")]
    [InlineData("--discovery kubernetes --management-port 0", "--management-port '0' is not a port")]
    [InlineData("--discovery kubernetes --stable-margin 0", "--stable-margin '0' must be a whole number from 1 to 600")]
    [InlineData("--discovery kubernetes --discovery-label-selector app={0}", "is not a Kubernetes label selector")]
    [InlineData("--rate-limit-writes -1", "--rate-limit-writes '-1' must be off or a whole number")]
    [InlineData("--rate-limit-streams lots", "--rate-limit-streams 'lots' must be off or a whole number")]
    [InlineData("--secrets-key c2hvcnQ=", "key 1 is 5 bytes; a key is 32 bytes")]
    [InlineData("--secrets-key not-base64!", "key 1 is not base64")]
    [InlineData("--secrets-key-file /nonexistent/keys", "--secrets-key-file '/nonexistent/keys' cannot be read")]
    [InlineData("--allow-plaintext-secrets yes", "--allow-plaintext-secrets 'yes' must be true or false")]
    public void Should_refuse_bad_options_with_a_clear_reason(string arguments, string reason)
    {
        var error = Assert.Throws<NodeOptionsException>(() => NodeSettings.Load(arguments.Split(' '), Env(), Config()));

        Assert.Contains(reason, error.Message);
    }
}
