namespace EventCluster.Messages.Cluster;

/// <summary>
/// Sent by a node that starts to leave gracefully, before it hands off its shards, to the shard
/// reporter of every other member: the shards that now move away from it are a hand-off, not a
/// rebalance. (Sharding hands shards off before the member is marked Leaving.)
/// </summary>
/// <param name="Address">The leaving node's address.</param>
public sealed record NodeLeaving(string Address) : IEventClusterMessage;
