using Akka.Cluster.Sharding;

namespace EventCluster.Messages.Sharding;

/// <summary>
/// Maps an <see cref="IWithEntityId"/> message to its entity and shard. Shared by the shard
/// region and every proxy: both sides must agree on the shard of each entity id.
/// </summary>
public sealed class EntityMessageExtractor() : HashCodeMessageExtractor(ShardCount)
{
    /// <summary>
    /// About 10 × the largest expected cluster (10 nodes): enough shards to spread evenly and to
    /// rebalance in small steps, few enough that each node's shard bookkeeping stays cheap.
    /// Changing it re-homes every entity, so it is fixed for the lifetime of a journal.
    /// </summary>
    public const int ShardCount = 100;

    /// <summary>The sharding type name of EventCluster entities.</summary>
    public const string TypeName = "entity";

    /// <inheritdoc />
    /// <remarks>Null for any other message: the region drops it (Akka handles its own StartEntity).</remarks>
    public override string EntityId(object message) => (message as IWithEntityId)?.EntityId!;
}
