namespace EventCluster.Messages.Replies;

/// <summary>Replies to events of <see cref="Commands.SubmitEventBatch"/> messages, gathered as they complete.</summary>
/// <param name="Accepted">Events now durably applied (or duplicates).</param>
/// <param name="Rejected">Events refused; they changed nothing.</param>
public sealed record EventReplyBatch(IReadOnlyList<EventAccepted> Accepted, IReadOnlyList<EventRejected> Rejected)
    : IEventClusterMessage;
