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
    public void Should_refuse_bad_options_with_a_clear_reason(string arguments, string reason)
    {
        var error = Assert.Throws<NodeOptionsException>(() => NodeSettings.Load(arguments.Split(' '), Env(), Config()));

        Assert.Contains(reason, error.Message);
    }
}
