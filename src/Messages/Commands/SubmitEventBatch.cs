namespace EventCluster.Messages.Commands;

/// <summary>
/// Several events in one message, sent by a client to the ingress of the node that hosts their
/// shards. Each event is validated, routed and acknowledged on its own, exactly as if sent
/// alone; the replies come back gathered in <see cref="Replies.EventReplyBatch"/> messages.
/// </summary>
/// <param name="Events">The events, each with its own entity and event id.</param>
public sealed record SubmitEventBatch(IReadOnlyList<SubmitEvent> Events) : IEventClusterMessage
{
    /// <summary>Most events in one batch.</summary>
    public const int MaxEvents = 256;

    /// <summary>Most payload bytes in one batch, far below the remoting frame size.</summary>
    public const int MaxDataBytes = 512 * 1024;
}
