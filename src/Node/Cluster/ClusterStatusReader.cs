using Akka.Actor;
using EventCluster.Messages.Queries;

namespace EventCluster.Node.Cluster;

/// <summary>Builds the cluster-status answer: membership from this node's view, shards from every region.</summary>
public sealed class ClusterStatusReader(ActorSystem system, IActorRef region)
{
    private static readonly TimeSpan StatsTimeout = TimeSpan.FromSeconds(3);
    // Resolved on first use, so the ingress can be built (and tested) without a cluster.
    private readonly Lazy<Akka.Cluster.Cluster> _cluster = new(() => Akka.Cluster.Cluster.Get(system));

    public async Task<ClusterStatusResult> ReadAsync()
    {
        var placement = await ShardPlacement.QueryAsync(region, _cluster.Value.SelfAddress, StatsTimeout);
        var state = _cluster.Value.State;
        var members = state.Members
            .Select(m => new MemberInfo(m.Address.ToString(), m.Status.ToString(), m.Roles.OrderBy(r => r).ToList(),
                !state.Unreachable.Contains(m)))
            .ToList();

        var hostAddresses = state.Members.Where(m => m.Status == Akka.Cluster.MemberStatus.Up).Select(m => m.Address)
            .Concat(placement.ByNode.Keys)
            .Distinct()
            .OrderBy(a => a.ToString(), StringComparer.Ordinal);
        var nodes = hostAddresses
            .Select(address => placement.ByNode.TryGetValue(address, out var shards)
                ? new NodeShards(address.ToString(), shards.Count, shards.Values.Sum(), shards.Keys.ToList())
                : new NodeShards(address.ToString(), 0, 0, []))
            .ToList();

        return new ClusterStatusResult(members, state.Leader?.ToString(), nodes, _cluster.Value.SelfAddress.ToString(),
            RecentClusterEvents.Of(system).Snapshot());
    }
}
