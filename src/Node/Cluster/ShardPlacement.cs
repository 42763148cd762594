using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace EventCluster.Node.Cluster;

/// <summary>Which shards each node hosts, with the live entities per shard.</summary>
public sealed record ShardPlacement(ImmutableSortedDictionary<Address, ImmutableSortedDictionary<string, int>> ByNode)
{
    /// <summary>Reads the placement out of a sharding stats reply, naming the local region by this node's address.</summary>
    public static ShardPlacement From(ClusterShardingStats stats, Address selfAddress) =>
        new(stats.Regions.ToImmutableSortedDictionary(
            region => region.Key.HasLocalScope ? selfAddress : region.Key,
            region => region.Value.Stats.ToImmutableSortedDictionary(StringComparer.Ordinal),
            AddressComparer.Instance));

    /// <summary>Asks the shard region for the placement over the whole cluster.</summary>
    public static async Task<ShardPlacement> QueryAsync(IActorRef region, Address selfAddress, TimeSpan timeout)
    {
        var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + TimeSpan.FromSeconds(1));
        return From(stats, selfAddress);
    }

    /// <summary>The node that hosts each shard.</summary>
    public IReadOnlyDictionary<string, Address> OwnerByShard() =>
        ByNode.SelectMany(node => node.Value.Keys.Select(shard => (shard, node.Key)))
            .ToDictionary(pair => pair.shard, pair => pair.Key);

    /// <summary>Orders addresses by host and port so log lines list nodes in a stable order.</summary>
    private sealed class AddressComparer : IComparer<Address>
    {
        public static readonly AddressComparer Instance = new();

        public int Compare(Address? x, Address? y) => string.CompareOrdinal(x?.ToString(), y?.ToString());
    }
}
