namespace EventCluster.Client;

/// <summary>No node of the cluster answered in time: the seeds are down, unreachable or the wrong ones.</summary>
public sealed class ClusterUnreachableException(string message, string? eventId = null) : Exception(message)
{
    /// <summary>
    /// For a send: the id of the event, which may or may not have been stored (its acknowledgement
    /// may be what was lost). Send it again with this id: a stored one is answered as a duplicate.
    /// </summary>
    public string? EventId { get; } = eventId;
}

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
/// The journal could not store an event (the database is down or overloaded): the event was not
/// applied. Send the same event id again later; should a write the journal gave up on have been
/// committed after all, the repeat is answered as a duplicate.
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

/// <summary>
/// The cluster refused a webhook request: <see cref="Status"/> says why, as the HTTP API would
/// (400 invalid, for example a host the cluster does not allow; 401 the nodes need their API
/// token; 404 no such subscription; 409 the name is taken).
/// </summary>
public sealed class WebhookRefusedException(int status, string reason) : EventClusterRejectedException(reason, reason)
{
    /// <summary>The cluster's answer as an HTTP status.</summary>
    public int Status { get; } = status;
}
