using System.Text.Json.Serialization;

namespace EventCluster.Messages.Replies;

/// <summary>
/// What became of one event of a batch: the same answers as a single send, as one record.
/// </summary>
/// <param name="EntityId">The entity id as submitted.</param>
/// <param name="EventId">The event id as submitted.</param>
/// <param name="Status">
/// <see cref="Accepted"/> (stored now), <see cref="Duplicate"/> (stored before; nothing changed),
/// <see cref="Rejected"/> (refused, nothing stored), <see cref="NotStored"/> (the journal could not
/// store it: send it again with the same id) or <see cref="Unanswered"/> (no answer in time: it may
/// or may not be stored, send it again with the same id).
/// </param>
/// <param name="Version">For accepted and duplicate events, the entity's version as with <see cref="EventAccepted.Version"/>.</param>
/// <param name="Position">For accepted and duplicate events, the global position (null when the entity no longer knows it).</param>
/// <param name="Node">For accepted and duplicate events, the node hosting the entity.</param>
/// <param name="Reason">Why the event was rejected or not stored.</param>
public sealed record EventOutcome(
    string EntityId,
    string EventId,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Version = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Position = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Node = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null)
{
    /// <summary>Stored now.</summary>
    public const string Accepted = "accepted";
    /// <summary>Stored before; nothing changed.</summary>
    public const string Duplicate = "duplicate";
    /// <summary>Refused; nothing stored.</summary>
    public const string Rejected = "rejected";
    /// <summary>The journal could not store it; resend with the same id.</summary>
    public const string NotStored = "notStored";
    /// <summary>No answer in time; it may be stored, resend with the same id.</summary>
    public const string Unanswered = "unanswered";

    /// <summary>True when the event is in the journal (stored now or before).</summary>
    [JsonIgnore]
    public bool IsStored => Status is Accepted or Duplicate;

    /// <summary>True when sending the event again with the same id may still store it.</summary>
    [JsonIgnore]
    public bool IsRetryable => Status is NotStored or Unanswered;

    /// <summary>The outcome of a stored (or already stored) event.</summary>
    public static EventOutcome Of(EventAccepted accepted) =>
        new(accepted.EntityId, accepted.EventId, accepted.Duplicate ? Duplicate : Accepted, accepted.Version, accepted.Position, accepted.Node);

    /// <summary>
    /// The outcome that a single send's answer (<see cref="EventAccepted"/>, <see cref="EventRejected"/>
    /// or <see cref="EventNotStored"/>) stands for; any other answer, or none (null), is
    /// <see cref="Unanswered"/> for the reason <paramref name="noAnswer"/>.
    /// </summary>
    public static EventOutcome OfReply(string entityId, string eventId, object? reply, string noAnswer) => reply switch
    {
        EventAccepted accepted => Of(accepted),
        EventRejected rejected => new EventOutcome(entityId, eventId, Rejected, Reason: rejected.Reason),
        EventNotStored notStored => new EventOutcome(entityId, eventId, NotStored, Reason: notStored.Reason),
        _ => new EventOutcome(entityId, eventId, Unanswered, Reason: noAnswer),
    };

    /// <summary>The acknowledgement a single send would have answered; only for stored events.</summary>
    public EventAccepted ToAccepted() => IsStored
        ? new EventAccepted(EntityId, EventId, Version ?? 0, Node ?? "", Status == Duplicate, Position)
        : throw new InvalidOperationException($"event {EventId} was not stored ({Status})");
}

/// <summary>The answer of an entity to <see cref="Commands.SubmitEntityEvents"/>: one outcome per event, in the order sent.</summary>
/// <param name="EntityId">The entity.</param>
/// <param name="Outcomes">One per event of the request, in its order.</param>
public sealed record EntityEventsResult(string EntityId, IReadOnlyList<EventOutcome> Outcomes) : IEventClusterMessage;

/// <summary>The answer to <see cref="Commands.SubmitEventBatch"/>: one outcome per event, in the order sent.</summary>
/// <param name="BatchId">The batch's id.</param>
/// <param name="Outcomes">One per event of the batch, in its order.</param>
public sealed record EventBatchResult(string BatchId, IReadOnlyList<EventOutcome> Outcomes) : IEventClusterMessage;
