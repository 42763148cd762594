using EventCluster.Node.Hosting;
using Microsoft.Extensions.Configuration;

namespace EventCluster.Tests.Unit;

/// <summary>
/// The node's configuration layers as the node builds them: appsettings.json, then the
/// variables as the environment-variables provider keys them (without <c>EVENTCLUSTER_</c>),
/// then the command line.
/// </summary>
public sealed class NodeConfigurationSpecs
{
    private static NodeSettings Load(string[] args, Dictionary<string, string?> variables, Dictionary<string, string?> appsettings)
    {
        var commandLine = NodeCommandLine.Parse(args);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(appsettings)
            .AddNodeVariables(new ConfigurationBuilder().AddInMemoryCollection(variables).Build())
            .AddNodeCommandLine(commandLine)
            .Build();
        return NodeSettings.Load(commandLine, configuration);
    }

    [Fact]
    public void Should_take_seeds_from_the_environment_over_an_appsettings_list()
    {
        var settings = Load([], new() { ["SEEDS"] = "10.0.0.7:4053,10.0.0.8:4053" },
            new() { ["EventCluster:Seeds:0"] = "10.0.0.1:4053", ["EventCluster:Seeds:1"] = "10.0.0.2:4053" });

        Assert.Equal(["10.0.0.7:4053", "10.0.0.8:4053"], settings.Seeds);
    }

    [Fact]
    public void Should_take_seeds_from_the_command_line_over_the_environment_and_an_appsettings_list()
    {
        var settings = Load(["--seeds", "10.0.0.9:4053"], new() { ["SEEDS"] = "10.0.0.7:4053" },
            new() { ["EventCluster:Seeds:0"] = "10.0.0.1:4053" });

        Assert.Equal(["10.0.0.9:4053"], settings.Seeds);
    }

    [Fact]
    public void Should_treat_a_blank_variable_as_not_set()
    {
        var settings = Load([], new() { ["PORT"] = " ", ["BIND_HOST"] = "" }, new() { ["EventCluster:Port"] = "4100" });

        Assert.Equal((4100, "127.0.0.1"), (settings.Port, settings.BindHost));
    }

    [Fact]
    public void Should_name_the_option_when_a_value_from_appsettings_is_bad()
    {
        var error = Assert.Throws<NodeOptionsException>(() => Load([], new(), new() { ["EventCluster:StreamHeartbeat"] = "soon" }));

        Assert.Equal("--stream-heartbeat 'soon' must be a whole number from 1 to 3600", error.Message);
    }

    [Fact]
    public void Should_read_webhook_hosts_from_an_appsettings_list()
    {
        var settings = Load([], new(), new() { ["EventCluster:WebhookAllowedHosts:0"] = "hooks.example", ["EventCluster:WebhookAllowedHosts:1"] = "HOOKS2.example" });

        Assert.True(settings.WebhookAllowedHosts!.SetEquals(["hooks.example", "hooks2.example"]));
    }
}
