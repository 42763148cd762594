using System.Diagnostics;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>Nodes leaving (SIGTERM) and joining a cluster under load: shards hand off and rebalance, nothing is lost.</summary>
[Collection(TimingSensitive.Name)]
public sealed class LeaveAndJoinSpecs(ITestOutputHelper output) : TimingSensitiveSpec
{
    [Fact]
    public async Task Should_hand_off_a_leaving_nodes_shards_under_load_and_exit_0_with_nothing_lost()
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var leaving = cluster.Nodes[2];
        // Shards are placed as entities are first used (or pre-allocated after 10 s of stable
        // membership); the leaving node's must be on record before it leaves.
        var warmup = await cluster.ClientAsync("load", "--events", "600", "--entities", "300");
        Assert.True(warmup.ExitCode == 0, warmup.ToString());
        await cluster.ShardsOnRecordAsync(leaving);

        var acked = Path.Combine(cluster.ScratchPath, "during-leave.jsonl");
        // Paced, so the load is still running when the node leaves (about 10 s of it).
        var load = cluster.ClientAsync("load", "--events", "10000", "--entities", "300", "--concurrency", "64", "--rate", "1000",
            "--acked", acked, "--json");
        await Poll.UntilAsync(() => File.Exists(acked) && File.ReadLines(acked).Count() >= 1000, TimeSpan.FromSeconds(60),
            "1,000 events acknowledged before the leave");

        var clock = Stopwatch.StartNew();
        leaving.Terminate();
        var exitCode = await leaving.WaitForExitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine($"node left and exited {exitCode} after {clock.Elapsed.TotalSeconds:0.0}s");
        var loaded = await load;

        Assert.Equal(0, exitCode);
        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        Assert.Equal(10000, (int)loaded.Json["acknowledged"]!);
        await cluster.AssertVerifiedAsync(acked, 10000);
        Assert.Equal(2, cluster.SurvivorLinesMatching($@"MemberExited member={leaving.Endpoint}\b").Count);
        await Poll.UntilAsync(() => cluster.SurvivorLinesMatching($@"MemberRemoved member={leaving.Endpoint}\b").Count == 2,
            TimeSpan.FromSeconds(20), "both survivors to see the member removed");
        Assert.True(cluster.SurvivorLinesMatching($@"ShardsMoved reason=handoff from={leaving.Endpoint} ").Count > 0,
            string.Join("\n", cluster.SurvivorLinesMatching("Shard|Member")));
        Assert.Empty(cluster.SurvivorLinesMatching("UnreachableMember"));
    }

    [Fact]
    public async Task Should_give_a_node_that_joins_a_loaded_cluster_its_share_of_shards()
    {
        await using var cluster = await LocalCluster.StartAsync(2);
        var acked = Path.Combine(cluster.ScratchPath, "during-join.jsonl");
        var warmup = await cluster.ClientAsync("load", "--events", "2000", "--entities", "1000", "--json");
        Assert.True(warmup.ExitCode == 0, warmup.ToString());
        var load = cluster.ClientAsync("load", "--events", "6000", "--entities", "500", "--concurrency", "32", "--acked", acked, "--json");

        var clock = Stopwatch.StartNew();
        var joining = cluster.StartNode(FreePorts.Next());
        var shards = 0;
        await Poll.UntilAsync(async () =>
        {
            var node = (await cluster.StatusAsync())["nodes"]!.AsArray()
                .FirstOrDefault(n => ((string)n!["address"]!).EndsWith($"@{joining.Endpoint}", StringComparison.Ordinal));
            shards = node is null ? 0 : (int)node["shardCount"]!;
            return shards >= 25;
        }, TimeSpan.FromSeconds(60), "the joining node to host a quarter of the shards", TimeSpan.FromSeconds(1));
        output.WriteLine($"joining node hosts {shards} shards {clock.Elapsed.TotalSeconds:0.0}s after it was started");
        var loaded = await load;

        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        await cluster.AssertVerifiedAsync(acked, 6000);
        Assert.NotEmpty(cluster.SurvivorLinesMatching($@"ShardsMoved reason=rebalance from=\S+ to={joining.Endpoint} count=\d+ shards=\["));
        Assert.NotEmpty(joining.LinesMatching(@"ShardDistribution "));
    }
}
