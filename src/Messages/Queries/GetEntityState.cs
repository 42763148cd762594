using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventCluster.Messages.Queries;

/// <summary>Asks an entity for its state; answered with <see cref="EntityStateResult"/>.</summary>
/// <param name="EntityId">The entity to read.</param>
public sealed record GetEntityState(string EntityId) : IWithEntityId, IEventClusterMessage;

/// <summary>The state of one entity, folded from every event it applied.</summary>
/// <param name="EntityId">The entity.</param>
/// <param name="Exists">False when the entity never applied an event, or was erased.</param>
/// <param name="Version">Journal sequence number of the last applied event (0 when none).</param>
/// <param name="EventCount">Number of events applied.</param>
/// <param name="CountsByType">Number of applied events per event type.</param>
/// <param name="LastEventId">Id of the last applied event.</param>
/// <param name="LastEventType">Type of the last applied event.</param>
/// <param name="LastEventAt">When the last event was applied.</param>
/// <param name="Data">RFC 7386 JSON merge-patch of all payloads, in order.</param>
/// <param name="Node">Address of the node that answered.</param>
/// <param name="Erased">True when the entity was erased: it has no data, and takes no events.</param>
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
    string Node,
    bool Erased = false) : IEventClusterMessage;

/// <summary>The documented JSON form of an entity's state: <c>get --json</c> and <c>GET /api/entities/{id}</c>.</summary>
public static class EntityStateDocument
{
    /// <summary>The state as the documented JSON document (camelCase, data as JSON).</summary>
    public static JsonObject ToJson(this EntityStateResult state) => new()
    {
        ["entityId"] = state.EntityId,
        ["version"] = state.Version,
        ["eventCount"] = state.EventCount,
        ["countsByType"] = JsonSerializer.SerializeToNode(state.CountsByType),
        ["lastEventId"] = state.LastEventId,
        ["lastEventType"] = state.LastEventType,
        ["lastEventAt"] = state.LastEventAt,
        ["data"] = JsonNode.Parse(state.Data),
        ["node"] = state.Node,
    };
}
