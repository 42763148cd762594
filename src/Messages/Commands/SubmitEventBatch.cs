using EventCluster.Messages.Replies;

namespace EventCluster.Messages.Commands;

/// <summary>
/// Submits several events at once, of one entity or many, to a node's ingress. Each event keeps
/// its own id, de-duplication, per-entity order and acknowledgement: the ingress checks each,
/// hands the events of each entity to it as one <see cref="SubmitEntityEvents"/> (persisted
/// together), and answers with one <see cref="EventBatchResult"/> holding an
/// <see cref="EventOutcome"/> per event, in the order sent. Events of one entity are applied in
/// the order they appear in the batch.
/// </summary>
/// <param name="BatchId">Matches the answer to the request; unique per request of one client.</param>
/// <param name="Events">1 to <see cref="MaxEvents"/> events, at most <see cref="MaxBytes"/> of data in all.</param>
public sealed record SubmitEventBatch(string BatchId, IReadOnlyList<SubmitEvent> Events) : IEventClusterMessage
{
    /// <summary>Events one batch holds at most.</summary>
    public const int MaxEvents = 1000;

    /// <summary>
    /// Bytes of event data one batch holds at most. The serializer writes data as a JSON string,
    /// where every quote and backslash takes two bytes, and each event adds its ids and field names
    /// (up to about 400 bytes): 512 KiB of data, doubled, plus 1,000 events' ids stays within the
    /// remoting frame (2 MiB, hocon/remote.hocon), and an event of the largest data still fits.
    /// </summary>
    public const int MaxBytes = 512 * 1024;

    /// <summary>The bytes an event counts towards <see cref="MaxBytes"/>: its data in UTF-8.</summary>
    public static long SizeOf(SubmitEvent submit) => System.Text.Encoding.UTF8.GetByteCount(submit?.Data ?? "");

    /// <summary>The problem of the batch as a whole (null when it may be sent): empty, too many events or too many bytes.</summary>
    public static string? CheckSize(int events, long dataBytes) =>
        events == 0 ? "a batch needs at least one event"
        : events > MaxEvents ? $"a batch holds at most {MaxEvents} events, not {events}"
        : dataBytes > MaxBytes ? $"a batch holds at most {MaxBytes} bytes of event data, not {dataBytes}"
        : null;
}

/// <summary>
/// The events of one entity from a batch, in order: the entity persists the new ones together
/// (one journal write) and answers with one <see cref="EntityEventsResult"/>.
/// </summary>
/// <param name="EntityId">The entity; every event's <see cref="SubmitEvent.EntityId"/> is this one.</param>
/// <param name="Events">The entity's events in the order they were sent.</param>
public sealed record SubmitEntityEvents(string EntityId, IReadOnlyList<SubmitEvent> Events) : IWithEntityId, IEventClusterMessage;
