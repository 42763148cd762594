namespace EventCluster.Client;

/// <summary>No node of the cluster answered in time: the seeds are down, unreachable or the wrong ones.</summary>
public sealed class ClusterUnreachableException(string message) : Exception(message);

/// <summary>The cluster refused a request for good: resending it unchanged gets the same answer.</summary>
public class EventClusterRejectedException(string message, string reason) : Exception(message)
{
    /// <summary>The cluster's reason, as it gave it.</summary>
    public string Reason { get; } = reason;
}

/// <summary>An event was refused: invalid, or its entity's data would outgrow the cap. Nothing was stored.</summary>
public sealed class EventRejectedException(string entityId, string eventId, string reason)
    : EventClusterRejectedException($"event {eventId} for entity {entityId} was rejected: {reason}", reason)
{
    /// <summary>The entity the event was for.</summary>
    public string EntityId { get; } = entityId;

    /// <summary>The event's id.</summary>
    public string EventId { get; } = eventId;
}

/// <summary>
/// The journal could not store an event until the client's time ran out (the database is down or
/// overloaded). Nothing was stored; sending the same event id again later is safe: a repeat of a
/// stored event is recognised as a duplicate.
/// </summary>
public sealed class EventNotStoredException(string entityId, string eventId, string reason)
    : Exception($"event {eventId} for entity {entityId} was not stored: {reason}; send it again with the same event id once the journal is back")
{
    /// <summary>The entity the event was for.</summary>
    public string EntityId { get; } = entityId;

    /// <summary>The event's id: send it again with this id.</summary>
    public string EventId { get; } = eventId;

    /// <summary>The journal's reason.</summary>
    public string Reason { get; } = reason;
}
