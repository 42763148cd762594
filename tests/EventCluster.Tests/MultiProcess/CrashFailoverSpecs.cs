using System.Diagnostics;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// kill -9 of a node: the split-brain resolver downs it, its shards move to the survivors and its
/// entities answer again with every acknowledged event, recovered from the journal; a crashed
/// seed that restarts rejoins the same cluster.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class CrashFailoverSpecs(ITestOutputHelper output) : TimingSensitiveSpec
{
    /// <summary>Victims by role. The first seed is the oldest member, so it also hosts the shard coordinator.</summary>
    public static TheoryData<string, int> Victims => new()
    {
        { "plain node", 2 },
        { "second seed", 1 },
        { "first seed, holding the shard coordinator", 0 },
    };

    [Theory]
    [MemberData(nameof(Victims))]
    public async Task Should_answer_for_a_crashed_nodes_entities_from_the_survivors_and_take_it_back_after_a_restart(
        string role, int victimIndex)
    {
        await using var cluster = await LocalCluster.StartAsync(3);
        var acked = Path.Combine(cluster.ScratchPath, "before-crash.jsonl");
        var load = await cluster.ClientAsync("load", "--events", "1200", "--entities", "120", "--acked", acked, "--json");
        Assert.True(load.ExitCode == 0, load.ToString());
        var victim = cluster.Nodes[victimIndex];
        var orphans = await cluster.EntitiesHostedByAsync(victim, acked);
        Assert.NotEmpty(orphans);
        await cluster.ShardsOnRecordAsync(victim);

        var clock = Stopwatch.StartNew();
        victim.Kill();
        var (entity, version) = orphans[0];
        var answer = await WaitForStateAsync(cluster, entity, TimeSpan.FromSeconds(60));
        var failover = clock.Elapsed;
        output.WriteLine($"{role}: entity {entity} answered from {answer["node"]} {failover.TotalSeconds:0.0}s after kill -9");

        Assert.Equal(version, (int)answer["version"]!);
        Assert.Equal(version, (int)answer["eventCount"]!);
        Assert.DoesNotContain($"@{victim.Endpoint}", (string)answer["node"]!);
        foreach (var (other, otherVersion) in orphans.Skip(1).Take(5))
        {
            var state = await WaitForStateAsync(cluster, other, TimeSpan.FromSeconds(30));
            Assert.Equal(otherVersion, (int)state["version"]!);
        }

        var survivor = cluster.Running[0];
        Assert.NotEmpty(survivor.LinesMatching($@"UnreachableMember member={victim.Endpoint}\b"));
        Assert.NotEmpty(survivor.LinesMatching($@"MemberDowned member={victim.Endpoint}\b"));
        Assert.NotEmpty(survivor.LinesMatching($@"MemberRemoved member={victim.Endpoint}\b"));
        await Poll.UntilAsync(() => cluster.SurvivorLinesMatching($@"ShardsMoved reason=failover from={victim.Endpoint} ").Count > 0,
            TimeSpan.FromSeconds(15), "a ShardsMoved reason=failover line");

        // The survivors keep taking events, through whichever seed is alive.
        var during = await cluster.ClientAsync("send", "--entity", $"after-crash-{Guid.NewGuid():N}", "--type", "t", "--json");
        Assert.True(during.ExitCode == 0, during.ToString());
        Assert.Equal(1, (int)during.Json["version"]!);

        // Restarted on the same address, the node (a seed in two of the cases) joins the running
        // cluster again instead of forming one of its own.
        var restarted = cluster.StartNode(victim.Port);
        await cluster.WaitForMembersUpAsync(3, TimeSpan.FromSeconds(60));
        var viaRestarted = await ClientRun.RunAsync(["status", "--json", "--seeds", restarted.Endpoint, "--timeout", "20"]);
        Assert.True(viaRestarted.ExitCode == 0, viaRestarted.ToString());
        Assert.Equal(3, viaRestarted.Json["members"]!.AsArray().Count);
        // A node that formed a cluster of its own would have seen itself Up as the only member.
        Assert.Empty(restarted.LinesMatching($@"MemberUp member={restarted.Endpoint}( roles=\S+)? \| members=1 "));
        await cluster.AssertVerifiedAsync(acked, 1200);
    }

    /// <summary>Asks for the entity's state, with short attempts, until a node answers.</summary>
    private static async Task<System.Text.Json.Nodes.JsonNode> WaitForStateAsync(LocalCluster cluster, string entity, TimeSpan timeout)
    {
        System.Text.Json.Nodes.JsonNode? state = null;
        await Poll.UntilAsync(async () =>
        {
            var get = await cluster.ClientAsync("get", "--entity", entity, "--json", "--timeout", "2");
            state = get.ExitCode == 0 ? get.Json : null;
            return state is not null;
        }, timeout, $"entity {entity} to answer", TimeSpan.FromMilliseconds(50));
        return state!;
    }
}
