using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.InProcess;

/// <summary>Three real nodes (ActorSystems on free ports) in this process, sharing one SQLite journal file.</summary>
public sealed class InProcessClusterSpecs : IAsyncLifetime
{
    private static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _directory = new("eventcluster-inprocess");
    private readonly List<InProcessNode> _nodes = [];

    public async Task InitializeAsync()
    {
        var ports = new[] { FreePorts.Next(), FreePorts.Next(), FreePorts.Next() };
        var seeds = ports.Take(2).ToList();
        var journal = Path.Combine(_directory.Path, "journal.db");
        // One at a time, so that every node that did start is stopped even if a later one fails.
        foreach (var port in ports)
            _nodes.Add(await InProcessNode.StartAsync(port, seeds, journal, _directory.Path));
        await Poll.UntilAsync(() => _nodes.All(n => UpMembers(n) == 3), ClusterTimeout, "3 members Up on every node");
        // Members are Up before their shard regions have registered with the coordinator, which
        // places new shards only on registered regions: wait for all three, or the first events
        // (a few milliseconds of work) would all land on the first node.
        await Poll.UntilAsync(async () =>
        {
            var stats = await _nodes[0].Region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(2)),
                TimeSpan.FromSeconds(5));
            return stats.Regions.Count == 3;
        }, ClusterTimeout, "all three shard regions registered with the coordinator");
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Should_spread_entities_over_all_nodes_and_keep_full_state_when_a_member_leaves()
    {
        var entry = _nodes[0];
        var entityIds = Enumerable.Range(0, 100).Select(i => $"acct-{i}").ToList();
        var hostOf = new Dictionary<string, string>();
        foreach (var entityId in entityIds)
        {
            await SubmitAsync(entry.Region, new SubmitEvent(entityId, $"{entityId}-open", "open", """{"balance":0}"""));
            var accepted = await SubmitAsync(entry.Region, new SubmitEvent(entityId, $"{entityId}-deposit", "deposit", """{"balance":10}"""));
            Assert.Equal(2, accepted.Version);
            hostOf[entityId] = accepted.Node;
        }

        var nodeAddresses = _nodes.Select(n => n.Cluster.SelfAddress.ToString()).ToHashSet();
        Assert.Equal(nodeAddresses, hostOf.Values.ToHashSet());

        var leaving = _nodes[2];
        var leavingAddress = leaving.Cluster.SelfAddress.ToString();
        var moved = hostOf.Where(pair => pair.Value == leavingAddress).Select(pair => pair.Key).ToList();
        await leaving.StopAsync();
        await Poll.UntilAsync(() => UpMembers(entry) == 2 && entry.Cluster.State.Members.Count == 2, ClusterTimeout,
            "the leaving member to be removed");

        Assert.NotEmpty(moved);
        foreach (var entityId in moved)
        {
            var state = await GetStateAsync(entry.Region, entityId);
            Assert.True(state.Exists, entityId);
            Assert.Equal(2, state.Version);
            Assert.Equal(2, state.EventCount);
            Assert.Equal(1, state.CountsByType["open"]);
            Assert.Equal(1, state.CountsByType["deposit"]);
            Assert.Equal("""{"balance":10}""", state.Data);
            Assert.NotEqual(leavingAddress, state.Node);
        }

        // A repeated event id is still recognized on the entity's new node.
        var again = await SubmitAsync(entry.Region, new SubmitEvent(moved[0], $"{moved[0]}-deposit", "deposit", """{"balance":99}"""));
        Assert.True(again.Duplicate);
    }

    [Fact]
    public async Task Should_count_on_each_node_only_the_entities_it_hosts()
    {
        var hostOf = new Dictionary<string, string>();
        foreach (var entityId in Enumerable.Range(0, 60).Select(i => $"count-{i}"))
            hostOf[entityId] = (await SubmitAsync(_nodes[0].Region, new SubmitEvent(entityId, $"{entityId}-1", "open", "{}"))).Node;

        // Three nodes in one process: each has its own counters, kept with its actor system.
        foreach (var node in _nodes)
        {
            var hosted = hostOf.Values.Count(address => address == node.Cluster.SelfAddress.ToString());
            var metrics = Node.Telemetry.NodeMetrics.Of(node.System);
            Assert.True(hosted > 0, $"{node.Cluster.SelfAddress} hosts none of the 60 entities");
            Assert.Equal(hosted, metrics.ActiveEntities);
            Assert.Equal(hosted, metrics.Accepted);
        }

        Assert.Equal(60, _nodes.Sum(n => Node.Telemetry.NodeMetrics.Of(n.System).ActiveEntities));
    }

    private static int UpMembers(InProcessNode node) =>
        node.Cluster.State.Members.Count(m => m.Status == MemberStatus.Up);

    // Messages sent while a shard is handed off may be dropped: retry with the same event id,
    // exactly as the client does.
    private static async Task<EventAccepted> SubmitAsync(IActorRef region, SubmitEvent command)
    {
        var deadline = DateTime.UtcNow + ClusterTimeout;
        while (true)
        {
            try
            {
                return await region.Ask<EventAccepted>(command, TimeSpan.FromSeconds(5));
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    private static async Task<EntityStateResult> GetStateAsync(IActorRef region, string entityId)
    {
        var deadline = DateTime.UtcNow + ClusterTimeout;
        while (true)
        {
            try
            {
                return await region.Ask<EntityStateResult>(new GetEntityState(entityId), TimeSpan.FromSeconds(5));
            }
            catch (AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }
}
