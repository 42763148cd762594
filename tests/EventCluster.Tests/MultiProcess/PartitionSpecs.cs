using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Three nodes on their own addresses in Linux network namespaces joined by a bridge; one is cut
/// off. The majority downs it and keeps serving, the isolated node stops itself, nothing
/// acknowledged is lost.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class PartitionSpecs(ITestOutputHelper output) : TimingSensitiveSpec
{
    [SkippableFact]
    public async Task Should_keep_serving_on_the_majority_side_while_the_isolated_node_stops_itself()
    {
        Prerequisites.SkipIfMissing(NetworkTopology.Unavailable(), output);

        using var topology = NetworkTopology.Create(3);
        await using var cluster = await LocalCluster.StartAsync(topology);
        var before = Path.Combine(cluster.ScratchPath, "before-partition.jsonl");
        var during = Path.Combine(cluster.ScratchPath, "across-partition.jsonl");
        var warmup = await cluster.ClientAsync("load", "--events", "1500", "--entities", "150", "--acked", before, "--json");
        Assert.True(warmup.ExitCode == 0, warmup.ToString());
        var isolated = cluster.Nodes[2];
        var cutOff = await cluster.EntitiesHostedByAsync(isolated, before);
        Assert.NotEmpty(cutOff);

        var load = cluster.ClientAsync("load", "--events", "4000", "--entities", "200", "--concurrency", "32", "--acked", during, "--json");
        await Poll.UntilAsync(() => File.Exists(during) && File.ReadLines(during).Count() >= 500, TimeSpan.FromSeconds(60),
            "500 events acknowledged before the partition");
        topology.Isolate(2);

        // The isolated node downs itself and its process ends: it must not go on writing.
        var exitCode = await isolated.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(exitCode == 1, $"exit {exitCode}:\n{isolated.Tail(60)}");
        Assert.NotEmpty(isolated.LinesMatching("This node was downed by the cluster"));
        var majority = cluster.Nodes.Take(2).ToList();
        Assert.All(majority, node => Assert.False(node.HasExited, $"{node.Endpoint} exited:\n{node.Tail()}"));
        await Poll.UntilAsync(async () => (await cluster.StatusAsync())["members"]!.AsArray().Count == 2,
            TimeSpan.FromSeconds(30), "the majority to remove the isolated node");
        Assert.All(majority, node => Assert.NotEmpty(node.LinesMatching($@"MemberDowned member={isolated.Endpoint}\b")));

        var loaded = await load;
        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        var (entity, version) = cutOff[0];
        var state = await cluster.ClientAsync("get", "--entity", entity, "--json");
        Assert.True(state.ExitCode == 0, state.ToString());
        Assert.Equal(version, (int)state.Json["version"]!);
        Assert.DoesNotContain(isolated.Endpoint, (string)state.Json["node"]!);
        await cluster.AssertVerifiedAsync(before, 1500);
        await cluster.AssertVerifiedAsync(during, 4000);
    }
}
