using System.Collections.Immutable;
using System.Text;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Validation;

namespace EventCluster.Node.Entities;

/// <summary>
/// The state of one entity: a fold over the events it applied. The actor holds one instance and
/// replaces it with <see cref="Apply"/>; nothing here touches an actor. The de-duplication
/// window is handed from state to state (see <see cref="RecentEventIds"/>).
/// </summary>
public sealed record EntityState(
    string EntityId,
    long Version,
    long EventCount,
    ImmutableDictionary<string, long> CountsByType,
    string? LastEventId,
    string? LastEventType,
    DateTimeOffset? LastEventAt,
    string Data,
    RecentEventIds Recent,
    bool Erased = false,
    long ErasePosition = 0)
{
    /// <summary>How many of the latest event ids every entity remembers for de-duplication.</summary>
    public const int DeduplicationWindow = 10_000;

    /// <summary>The state of an entity that has applied nothing.</summary>
    public static EntityState Empty(string entityId) =>
        new(entityId, 0, 0, ImmutableDictionary<string, long>.Empty, null, null, null, "{}",
            RecentEventIds.Empty(DeduplicationWindow));

    /// <summary>True when the entity applied an event with this id within its window.</summary>
    public bool HasApplied(string eventId) => Recent.Contains(eventId);

    /// <summary>
    /// Checks that applying <paramref name="evt"/> keeps the state within its limits; null when
    /// it may be applied, otherwise the reason to refuse it.
    /// </summary>
    public string? CheckApplicable(EventApplied evt, out string mergedData) => CheckApplicable(evt, Data, out mergedData);

    /// <summary>
    /// As <see cref="CheckApplicable(EventApplied, out string)"/>, on <paramref name="data"/>: the
    /// entity's data after earlier events that are not folded in yet (a group persisted together).
    /// </summary>
    public string? CheckApplicable(EventApplied evt, string data, out string mergedData)
    {
        mergedData = JsonMergePatch.Apply(data, evt.Data);
        var size = Encoding.UTF8.GetByteCount(mergedData);
        return size > EventValidation.MaxStateDataBytes
            ? $"applying the event would grow the entity's data to {size} bytes; the limit is {EventValidation.MaxStateDataBytes}"
            : null;
    }

    /// <summary>The global position of an applied event in the window; null when unknown.</summary>
    public long? PositionOf(string eventId) => Recent.PositionOf(eventId);

    /// <summary>
    /// The state of an erased entity: no data, no event ids, closed to new events. Its version is
    /// that of its erase notice, at <paramref name="position"/>.
    /// </summary>
    public static EntityState ErasedAt(string entityId, long version, long position) =>
        Empty(entityId) with { Version = version, Erased = true, ErasePosition = position };

    /// <summary>
    /// Folds one event into the state; its journal sequence number becomes the version and its
    /// global position (when known) is remembered with its id. An erase notice closes the entity;
    /// a tombstone of one event (retention) advances the version and keeps its id for
    /// de-duplication, but has no data to fold.
    /// </summary>
    public EntityState Apply(EventApplied evt, long sequenceNr, long? position = null, string? mergedData = null) => evt.Type switch
    {
        EntityErasure.NoticeType => ErasedAt(EntityId, sequenceNr, position ?? 0),
        EntityErasure.TombstoneType when Erased => this with { Version = sequenceNr },
        EntityErasure.TombstoneType => this with
        {
            Version = sequenceNr,
            EventCount = EventCount + 1,
            Recent = evt.EventId.Length == 0 ? Recent : Recent.Add(evt.EventId, position ?? 0),
        },
        _ => Folded(evt, sequenceNr, position, mergedData),
    };

    private EntityState Folded(EventApplied evt, long sequenceNr, long? position, string? mergedData) => this with
    {
        Version = sequenceNr,
        EventCount = EventCount + 1,
        CountsByType = CountsByType.SetItem(evt.Type, CountsByType.GetValueOrDefault(evt.Type) + 1),
        LastEventId = evt.EventId,
        LastEventType = evt.Type,
        LastEventAt = evt.At,
        Data = mergedData ?? JsonMergePatch.Apply(Data, evt.Data),
        Recent = Recent.Add(evt.EventId, position ?? 0),
    };

    /// <summary>The snapshot that restores this state, de-duplication window included.</summary>
    public EntitySnapshot ToSnapshot() =>
        new(Version, EventCount, CountsByType, LastEventId, LastEventType, LastEventAt, Data, Recent.ToList(), Recent.Positions());

    /// <summary>Restores the state saved by <see cref="ToSnapshot"/>.</summary>
    public static EntityState FromSnapshot(string entityId, EntitySnapshot snapshot) =>
        new(entityId, snapshot.Version, snapshot.EventCount, snapshot.CountsByType.ToImmutableDictionary(),
            snapshot.LastEventId, snapshot.LastEventType, snapshot.LastEventAt, snapshot.Data,
            RecentEventIds.Empty(DeduplicationWindow).AddRange(snapshot.RecentEventIds, snapshot.RecentPositions));

    /// <summary>The state as answered to a query.</summary>
    public EntityStateResult ToResult(string node) =>
        new(EntityId, Version > 0 && !Erased, Version, EventCount, CountsByType, LastEventId, LastEventType, LastEventAt, Data, node, Erased);
}

/// <summary>
/// The ids of an entity's latest events with their global positions, oldest dropped first once
/// the capacity is reached.
/// </summary>
/// <remarks>
/// Mutable on purpose: up to 10,000 ids per entity, changed by every event. Immutable sets
/// allocated a dozen tree nodes per event that lived long enough to burden the GC's oldest
/// generation. The window belongs to the one actor folding the entity's events; each
/// <see cref="EntityState.Apply"/> hands it on to the new state, so earlier states of that
/// actor must not be asked about ids afterwards.
/// </remarks>
public sealed class RecentEventIds
{
    private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    private RecentEventIds(int capacity) => Capacity = capacity;

    public int Capacity { get; }

    public int Count => _order.Count;

    public static RecentEventIds Empty(int capacity) => new(capacity);

    public bool Contains(string eventId) => _ids.ContainsKey(eventId);

    /// <summary>The global position of the id; null when it is not in the window or its position is unknown.</summary>
    public long? PositionOf(string eventId) => _ids.TryGetValue(eventId, out var position) && position > 0 ? position : null;

    /// <summary>
    /// Adds <paramref name="eventId"/> as the newest id with its position (0: unknown), dropping the
    /// oldest when full; returns this window.
    /// </summary>
    public RecentEventIds Add(string eventId, long position = 0)
    {
        if (!_ids.TryAdd(eventId, position))
            return this;
        _order.Enqueue(eventId);
        if (_order.Count > Capacity)
            _ids.Remove(_order.Dequeue());
        return this;
    }

    /// <summary>Adds every id in order, with its position where <paramref name="positions"/> has one; returns this window.</summary>
    public RecentEventIds AddRange(IReadOnlyList<string> eventIds, IReadOnlyList<long>? positions = null)
    {
        for (var i = 0; i < eventIds.Count; i++)
            Add(eventIds[i], positions is not null && i < positions.Count ? positions[i] : 0);
        return this;
    }

    /// <summary>The ids, oldest first.</summary>
    public IReadOnlyList<string> ToList() => _order.ToList();

    /// <summary>The positions of <see cref="ToList"/>, in the same order (0: unknown).</summary>
    public IReadOnlyList<long> Positions() => _order.Select(id => _ids[id]).ToList();
}
