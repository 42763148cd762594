using System.Data.Common;

namespace EventCluster.Node.Journal;

/// <summary>One row of the journal table: an event of one entity, already serialized.</summary>
/// <param name="PersistenceId">The entity's persistence id.</param>
/// <param name="SequenceNr">Its version after the event.</param>
/// <param name="Message">The serialized event.</param>
/// <param name="SerializerId">The serializer that wrote <paramref name="Message"/>.</param>
/// <param name="Manifest">The serializer's manifest of the event.</param>
/// <param name="WriterUuid">The incarnation of the entity that wrote it.</param>
/// <param name="Tags">Tags in Akka.Persistence.Sql's CSV form (<c>;a;b;</c>), or null.</param>
/// <param name="CreatedTicks">When it was written, UTC ticks.</param>
/// <param name="EventManifest">The event adapter's manifest, or null for none.</param>
public sealed record JournalRow(
    string PersistenceId, long SequenceNr, byte[] Message, int SerializerId, string Manifest, string WriterUuid, string? Tags, long CreatedTicks,
    string? EventManifest = null);

/// <summary>A journal row as read back, with its global position.</summary>
/// <param name="Row">The row.</param>
/// <param name="Position">The row's global position (the <c>ordering</c> column).</param>
public sealed record StoredEvent(JournalRow Row, long Position)
{
    /// <summary>The columns <see cref="Read"/> expects, in its order.</summary>
    public const string Columns = "sequence_number, message, identifier, manifest, writer_uuid, created, tags, ordering, event_manifest";

    /// <summary>The event at the reader's current row of a query selecting <see cref="Columns"/>.</summary>
    public static StoredEvent Read(DbDataReader reader, string persistenceId) =>
        new(new JournalRow(persistenceId, reader.GetInt64(0), (byte[])reader.GetValue(1),
                reader.IsDBNull(2) ? 0 : reader.GetInt32(2), reader.IsDBNull(3) ? "" : reader.GetString(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetInt64(5),
                reader.IsDBNull(8) ? null : reader.GetString(8)),
            reader.GetInt64(7));
}

/// <summary>A row of the global event log: an event of any entity, with its persistence id.</summary>
public sealed record LogRow(string PersistenceId, StoredEvent Event)
{
    /// <summary>The columns <see cref="Read"/> expects, in its order.</summary>
    public const string Columns = StoredEvent.Columns + ", persistence_id";

    /// <summary>The row at the reader's current row of a query selecting <see cref="Columns"/>.</summary>
    public static LogRow Read(DbDataReader reader)
    {
        var persistenceId = reader.GetString(9);
        return new LogRow(persistenceId, StoredEvent.Read(reader, persistenceId));
    }
}

/// <summary>
/// The journal form of an erased event: a serialized payload with no data that replaces the
/// event's own (what it holds is the entities' business).
/// </summary>
/// <param name="Message">The serialized tombstone.</param>
/// <param name="SerializerId">Its serializer.</param>
/// <param name="Manifest">Its serializer manifest.</param>
/// <param name="WriterUuid">The writer recorded on an erase notice.</param>
public sealed record Tombstone(byte[] Message, int SerializerId, string Manifest, string WriterUuid = "");

/// <summary>What erasing an entity's rows did.</summary>
/// <param name="ErasedEvents">Rows turned into tombstones now (0 when all were before).</param>
/// <param name="NoticeVersion">The version of the erase notice written, 0 when none was asked for.</param>
/// <param name="NoticePosition">Its global position, 0 when none was written.</param>
public readonly record struct ErasedRows(long ErasedEvents, long NoticeVersion, long NoticePosition);

/// <summary>A group as stored: its confirmed position, and whether a member holds it now.</summary>
public readonly record struct GroupRow(string Name, long Position, bool Active, long UpdatedMilliseconds);

/// <summary>What joining a group gave: its position, or that another member holds it.</summary>
public readonly record struct GroupJoin(long Position, bool Held, bool Created);

/// <summary>A snapshot as stored.</summary>
public sealed record StoredSnapshot(long SequenceNr, long CreatedTicks, byte[] Data, int SerializerId, string Manifest)
{
    /// <summary>The columns <see cref="Read"/> expects, in its order.</summary>
    public const string Columns = "sequence_number, created, snapshot, serializer_id, manifest";

    /// <summary>The snapshot at the reader's current row of a query selecting <see cref="Columns"/>; null when its data is missing.</summary>
    public static StoredSnapshot? Read(DbDataReader reader) =>
        reader.IsDBNull(2)
            ? null
            : new StoredSnapshot(reader.GetInt64(0), reader.GetInt64(1), (byte[])reader.GetValue(2), reader.IsDBNull(3) ? 0 : reader.GetInt32(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4));
}

/// <summary>Which snapshots of an entity a call is about (all bounds inclusive; ticks are UTC).</summary>
public readonly record struct SnapshotRange(long MinSequenceNr, long MaxSequenceNr, long MinTicks, long MaxTicks);

/// <summary>
/// One connection to the journal database and the SQL the journal and snapshot store run on it.
/// Both databases keep Akka.Persistence.Sql's table layout, so its read journal and databases
/// written by earlier releases keep working. One column is added to it, at start, when missing:
/// <c>event_manifest</c>, the event adapter's manifest, which replays hand back to the adapter.
/// </summary>
/// <remarks>Not thread-safe: each connection is used by one thread at a time.</remarks>
public interface IJournalStore : IDisposable
{
    /// <summary>
    /// Writes <paramref name="rows"/> in one transaction: all of them or, on any error, none (the
    /// exception says why). Returns each row's global position, in the order of the rows;
    /// positions increase in commit order across every writer of the database.
    /// </summary>
    long[] WriteAll(IReadOnlyList<JournalRow> rows);

    /// <summary>Rows of an entity not marked deleted, versions <paramref name="from"/> to <paramref name="to"/>, at most <paramref name="max"/>.</summary>
    List<StoredEvent> Read(string persistenceId, long from, long to, int max);

    /// <summary>The highest version ever written for the entity, 0 for none (deleted rows count).</summary>
    long HighestSequenceNr(string persistenceId);

    /// <summary>Marks the rows up to <paramref name="toSequenceNr"/> deleted; replays skip them, the highest version stays.</summary>
    void MarkDeleted(string persistenceId, long toSequenceNr);

    /// <summary>
    /// In one transaction: rewrites every row of the entity not erased yet to <paramref name="tombstone"/>
    /// and marks it erased (the <c>erased</c> column), deletes the entity's snapshots and, when
    /// <paramref name="notice"/> is given, appends it as the entity's next version, erased, at a new
    /// position taken in commit order. Rows keep their positions and versions.
    /// </summary>
    ErasedRows EraseEntity(string persistenceId, Tombstone tombstone, Tombstone? notice);

    /// <summary>Rewrites the rows at the given positions to their tombstones and marks them erased, in one transaction; returns the rows changed.</summary>
    int EraseEvents(IReadOnlyList<(long Position, Tombstone Tombstone)> events);

    /// <summary>The newest snapshot of the entity in <paramref name="range"/>, or null.</summary>
    StoredSnapshot? LoadSnapshot(string persistenceId, SnapshotRange range);

    /// <summary>Stores a snapshot, replacing one of the same entity and version.</summary>
    void SaveSnapshot(string persistenceId, StoredSnapshot snapshot);

    /// <summary>Deletes the entity's snapshots in <paramref name="range"/>.</summary>
    void DeleteSnapshots(string persistenceId, SnapshotRange range);

    /// <summary>
    /// Rows of every entity not marked deleted with positions in (<paramref name="after"/>,
    /// <paramref name="through"/>], in position order, at most <paramref name="max"/>.
    /// </summary>
    List<LogRow> ReadLog(long after, long through, int max);

    /// <summary>
    /// The highest position written, 0 for an empty journal. Positions are commit-ordered, so
    /// every row at or below it that will ever exist is already visible.
    /// </summary>
    long HeadPosition();

    /// <summary>Events (rows not marked deleted) with a position above <paramref name="position"/>.</summary>
    long CountAfter(long position);

    /// <summary>
    /// Makes <paramref name="member"/> the active member of <paramref name="group"/> for
    /// <paramref name="lease"/>, creating the group at <paramref name="start"/> when it is new;
    /// reports <see cref="GroupJoin.Held"/> when another member's lease still runs.
    /// </summary>
    GroupJoin JoinGroup(string group, string member, long start, TimeSpan lease);

    /// <summary>
    /// Stores the group's position and renews <paramref name="member"/>'s lease, or with
    /// <paramref name="leave"/> ends it; false when the member no longer holds the group.
    /// </summary>
    bool ConfirmGroup(string group, string member, long position, bool leave, TimeSpan lease);

    /// <summary>Every group, by name.</summary>
    List<GroupRow> ListGroups();

    /// <summary>The connection, for the SQL both databases share (webhooks).</summary>
    DbConnection Connection { get; }

    /// <summary>Closes a connection that failed, so that it is never used again.</summary>
    void Discard();
}
