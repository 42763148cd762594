using System.Text.Json.Serialization;

namespace EventCluster.Messages.Subscriptions;

/// <summary>
/// One stored event as readers see it: in entity history, subscriptions, Server-Sent Events and
/// webhooks, with the same fields everywhere.
/// </summary>
/// <param name="EntityId">The entity that applied it.</param>
/// <param name="Version">The entity's version after it (1 for its first event).</param>
/// <param name="Position">Its global position: increasing in commit order across the cluster.</param>
/// <param name="EventId">Its id (the de-duplication key).</param>
/// <param name="Type">Its type.</param>
/// <param name="Data">Its JSON object payload.</param>
/// <param name="At">When the entity applied it; for an erased record, when it was erased.</param>
/// <param name="Erased">
/// True for an erased record: a tombstone in place of an erased event (type <see cref="ErasedType"/>),
/// or the notice that an entity was erased (type <see cref="EntityErasedType"/>, at the entity's last
/// version). Its event id is empty and its data <c>{}</c>. Left out of JSON when false.
/// </param>
public sealed record EventRecord(
    string EntityId, long Version, long Position, string EventId, string Type, [property: RawJson] string Data, DateTimeOffset At,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Erased = false)
{
    /// <summary>The type of a tombstone: an event whose id, type and data were erased. Event types cannot start with '$'.</summary>
    public const string ErasedType = "$erased";

    /// <summary>The type of the notice that an entity was erased: every earlier event of it is a tombstone.</summary>
    public const string EntityErasedType = "$entity-erased";
}

/// <summary>
/// Which events a reader wants. Every part that is set must match: one of <see cref="Types"/>
/// (any type when empty), and <see cref="EntityId"/> or the entity id prefix <see cref="EntityPrefix"/>.
/// </summary>
/// <param name="Types">Event types to keep; empty for all.</param>
/// <param name="EntityId">The one entity to keep, or null.</param>
/// <param name="EntityPrefix">The prefix of the entity ids to keep, or null.</param>
public sealed record EventFilter(IReadOnlyList<string> Types, string? EntityId, string? EntityPrefix)
{
    /// <summary>Every event.</summary>
    public static readonly EventFilter All = new([], null, null);

    /// <summary>True when an event of <paramref name="entityId"/> passes the entity part of the filter.</summary>
    public bool MatchesEntity(string entityId) =>
        (EntityId is null || string.Equals(EntityId, entityId, StringComparison.Ordinal)) &&
        (EntityPrefix is null || entityId.StartsWith(EntityPrefix, StringComparison.Ordinal));

    /// <summary>True when an event of type <paramref name="type"/> passes the type part of the filter.</summary>
    public bool MatchesType(string type) => Types.Count == 0 || Types.Contains(type, StringComparer.Ordinal);

    /// <summary>
    /// True when <paramref name="record"/> passes the filter. An entity's erase notice passes every
    /// type filter (it concerns all the entity's events); a tombstone has no type left to match, so
    /// only a filter without types passes it.
    /// </summary>
    public bool Matches(EventRecord record) => MatchesEntity(record.EntityId) && MatchesRecordType(record.Type);

    /// <summary>True when a record of type <paramref name="type"/> passes the type part of the filter (see <see cref="Matches"/>).</summary>
    public bool MatchesRecordType(string type) => type == EventRecord.EntityErasedType || MatchesType(type);
}
