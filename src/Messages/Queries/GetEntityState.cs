namespace EventCluster.Messages.Queries;

/// <summary>Asks an entity for its state; answered with <see cref="EntityStateResult"/>.</summary>
/// <param name="EntityId">The entity to read.</param>
public sealed record GetEntityState(string EntityId) : IWithEntityId, IEventClusterMessage;

/// <summary>The state of one entity, folded from every event it applied.</summary>
/// <param name="EntityId">The entity.</param>
/// <param name="Exists">False when the entity never applied an event.</param>
/// <param name="Version">Journal sequence number of the last applied event (0 when none).</param>
/// <param name="EventCount">Number of events applied.</param>
/// <param name="CountsByType">Number of applied events per event type.</param>
/// <param name="LastEventId">Id of the last applied event.</param>
/// <param name="LastEventType">Type of the last applied event.</param>
/// <param name="LastEventAt">When the last event was applied.</param>
/// <param name="Data">RFC 7386 JSON merge-patch of all payloads, in order.</param>
/// <param name="Node">Address of the node that answered.</param>
public sealed record EntityStateResult(
    string EntityId,
    bool Exists,
    long Version,
    long EventCount,
    IReadOnlyDictionary<string, long> CountsByType,
    string? LastEventId,
    string? LastEventType,
    DateTimeOffset? LastEventAt,
    [property: RawJson] string Data,
    string Node) : IEventClusterMessage;
