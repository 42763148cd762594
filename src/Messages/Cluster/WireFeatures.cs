namespace EventCluster.Messages.Cluster;

/// <summary>
/// Messages added after a release that an earlier release cannot read. A node announces each one
/// it reads as a cluster role of its member, so every node and client sees, from the membership
/// alone, whether a message may be sent to a member; until every member that could receive it
/// announces the feature, senders use the older messages, which every release reads. During a
/// rolling upgrade the old members lack the role; once the last of them has left, the new
/// messages are used. The earliest release (1.0) announces none.
/// </summary>
public static class WireFeatures
{
    /// <summary>
    /// A batch's events of one entity as one message (<see cref="Commands.SubmitEntityEvents"/>,
    /// answered with <see cref="Replies.EntityEventsResult"/>), and a batch sent to a node's ingress
    /// (<see cref="Commands.SubmitEventBatch"/>, answered with <see cref="Replies.EventBatchResult"/>).
    /// Without it, an ingress sends a batch's events one by one (<see cref="Commands.SubmitEvent"/>),
    /// and a client sends its batches only to ingresses of members that announce it.
    /// </summary>
    public const string Batches = "reads-batches";

    /// <summary>The features this build reads: the roles every node of it announces.</summary>
    public static readonly IReadOnlyList<string> All = [Batches];
}
