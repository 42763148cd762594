namespace EventCluster.Messages.Replies;

/// <summary>
/// The event is durably in the journal (or was already: <see cref="Duplicate"/>).
/// </summary>
/// <param name="EntityId">The entity that applied the event.</param>
/// <param name="EventId">The id of the event.</param>
/// <param name="Version">The entity's version (journal sequence number) after the event.</param>
/// <param name="Node">Address of the node hosting the entity.</param>
/// <param name="Duplicate">True when the id had been applied before; nothing changed.</param>
/// <param name="Position">
/// The event's global position in the journal: increasing in commit order across the cluster.
/// For a duplicate, the position of the event as first applied; null when the entity no longer
/// knows it (the id was applied before the current release recorded positions).
/// </param>
public sealed record EventAccepted(string EntityId, string EventId, long Version, string Node, bool Duplicate, long? Position = null)
    : IEventClusterMessage;
