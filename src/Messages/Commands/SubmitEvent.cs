using System.Text.Json.Serialization;

namespace EventCluster.Messages.Commands;

/// <summary>
/// Submits one event to an entity. The entity persists it, folds it into its state and only
/// then answers with <see cref="Replies.EventAccepted"/>; an invalid event is answered with
/// <see cref="Replies.EventRejected"/> and changes nothing. Resending the same
/// <see cref="EventId"/> is safe: it is applied at most once.
/// </summary>
/// <param name="EntityId">1–128 characters of <c>A-Z a-z 0-9 . _ : -</c>.</param>
/// <param name="EventId">1–128 characters, same alphabet; the de-duplication key.</param>
/// <param name="Type">1–64 characters, same alphabet.</param>
/// <param name="Data">A JSON object (may be <c>{}</c>), at most 64 KiB serialized.</param>
/// <param name="TraceParent">
/// The W3C <c>traceparent</c> of the span that sent the command, when the node traces: the
/// entity's span joins that trace on whichever node it runs. Left out of the payload when null,
/// and null in payloads written before it existed.
/// </param>
/// <param name="SentAt">
/// When the command was last sent on: the sender's wall clock in microseconds since the Unix epoch
/// (<see cref="WallClockMicros"/>). The client stamps it, the ingress stamps it again when it hands
/// the command on; the node's write-stage figures measure the hops from it. Left out of the
/// payload when null, and ignored by nodes that predate it.
/// </param>
public sealed record SubmitEvent(
    string EntityId,
    string EventId,
    string Type,
    [property: RawJson] string Data,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? SentAt = null)
    : IWithEntityId, IEventClusterMessage
{
    /// <summary>The wall clock in microseconds since the Unix epoch, as <see cref="SentAt"/> carries it.</summary>
    public static long WallClockMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
}
