using Akka.Actor;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Subscriptions;
using EventCluster.Node.Journal;

namespace EventCluster.Node.Entities;

/// <summary>
/// How erased events look in the journal. A tombstone stays an <see cref="EventApplied"/> (the
/// journal's one event contract, which every release reads), with the reserved type
/// <see cref="TombstoneType"/> and data <c>{}</c>; an erased entity's tombstones carry no event id,
/// a retention tombstone keeps its id so that a resend of it is still a duplicate. The notice that
/// an entity was erased is an <see cref="EventApplied"/> of type <see cref="NoticeType"/>: it closes
/// the entity when replayed. Event types cannot start with '$', so no sent event looks like either.
/// </summary>
public static class EntityErasure
{
    /// <inheritdoc cref="EventRecord.ErasedType" />
    public const string TombstoneType = EventRecord.ErasedType;

    /// <inheritdoc cref="EventRecord.EntityErasedType" />
    public const string NoticeType = EventRecord.EntityErasedType;

    /// <summary>True for the type of a tombstone or an erase notice.</summary>
    public static bool IsErased(string type) => type is TombstoneType or NoticeType;

    /// <summary>The tombstone of an event erased at <paramref name="at"/>, keeping <paramref name="eventId"/> ("" for none).</summary>
    public static Tombstone Tombstone(ActorSystem system, DateTimeOffset at, string eventId = "") =>
        Serialize(system, new EventApplied(eventId, TombstoneType, "{}", at), "");

    /// <summary>The erase notice of an entity erased at <paramref name="at"/>.</summary>
    public static Tombstone Notice(ActorSystem system, DateTimeOffset at, string writer) =>
        Serialize(system, new EventApplied("", NoticeType, "{}", at), writer);

    private static Tombstone Serialize(ActorSystem system, EventApplied payload, string writer)
    {
        var serializer = system.Serialization.FindSerializerFor(payload);
        return new Tombstone(serializer.ToBinary(payload), serializer.Identifier, Akka.Serialization.Serialization.ManifestFor(serializer, payload),
            writer);
    }
}
