namespace EventCluster.Messages.Commands;

/// <summary>
/// Hand-off stop message of the shard region. Unlike the default PoisonPill it is queued
/// behind the events already in the entity's mailbox, so none of them is dropped when a shard
/// moves to another node.
/// </summary>
public sealed record StopEntity : IEventClusterMessage
{
    /// <summary>The single instance.</summary>
    public static readonly StopEntity Instance = new();
}
