using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>Acknowledged events survive stopping and restarting every node of the cluster.</summary>
public sealed class ClusterRestartSpecs
{
    [Fact]
    public async Task Should_keep_every_acknowledged_event_across_a_restart_of_the_whole_cluster()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var acked = Path.Combine(cluster.ScratchPath, "before-restart.jsonl");
        var load = await cluster.ClientAsync("load", "--events", "600", "--entities", "60", "--acked", acked, "--json");
        Assert.True(load.ExitCode == 0, load.ToString());

        var ports = cluster.Ports;
        foreach (var node in cluster.Nodes.AsEnumerable().Reverse().ToList())
        {
            node.Terminate();
            Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        }

        foreach (var port in ports)
            cluster.StartNode(port);
        await cluster.WaitForMembersUpAsync(3, TimeSpan.FromSeconds(90));
        // The deadlines guard a hang, not the restart's speed: this spec's niced nodes recover their
        // shards while the timing-sensitive specs take the cores first.
        var verify = await cluster.ClientAsync("verify", "--acked", acked, "--json", "--timeout", "90");
        var entity = File.ReadLines(acked).Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("entityId").GetString()!).First();
        var state = await cluster.ClientAsync("get", "--entity", entity, "--json", "--timeout", "90");

        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(600, (int)verify.Json["acked"]!);
        Assert.Equal(0, (int)verify.Json["lost"]!);
        Assert.Equal(0, (int)verify.Json["duplicated"]!);
        Assert.True(state.ExitCode == 0, state.ToString());
        Assert.Equal(10, (int)state.Json["version"]!);
    }
}
