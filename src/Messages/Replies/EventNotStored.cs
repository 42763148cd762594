namespace EventCluster.Messages.Replies;

/// <summary>
/// The journal could not store the event (the database is down, slow or full). The event was not
/// applied; if the journal gave up on a write only after its time-out, the write may still have
/// been committed. Sending the same event id again once the journal is back is safe: a stored
/// event is then answered as a duplicate.
/// </summary>
/// <param name="EntityId">The entity id as submitted.</param>
/// <param name="EventId">The event id as submitted.</param>
/// <param name="Reason">What the journal reported.</param>
public sealed record EventNotStored(string EntityId, string EventId, string Reason) : IEventClusterMessage;
