using Akka.Event;
using Akka.Actor;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Subscriptions;
using EventCluster.Node.Entities;
using EventCluster.Node.Journal;

namespace EventCluster.Node.Subscriptions;

/// <summary>
/// The read side of the journal for listeners: the global event log by position, an entity's
/// history, and the groups' stored positions. Every query runs on the journal's reader threads
/// (a fixed number of connections, never the thread pool).
/// </summary>
/// <remarks>
/// Positions are commit-ordered (see <see cref="IJournalStore.WriteAll"/>): once a reader has
/// seen the highest position P, no event at or below P can appear later. So a page that read
/// every row up to the head it saw first may say "nothing else up to here", and a reader that
/// goes on after it never skips a late commit.
/// </remarks>
public sealed class EventLog(ActorSystem system, JournalDatabase database)
{
    public const int RowsPerQuery = 1000;

    /// <summary>Rows a filtered page scans at most before it answers, so that a rare match costs bounded work per request.</summary>
    public const int RowsPerPage = 20_000;

    /// <summary>Payload bytes per page at most, far below the remoting frame size (2 MiB).</summary>
    public const int BytesPerPage = 1024 * 1024;

    /// <summary>A page of the log after <paramref name="after"/>, matching <paramref name="filter"/>.</summary>
    public Task<EventLogPage> ReadPageAsync(string requestId, long after, EventFilter filter, int maxEvents) =>
        database.Workers.RunAsync(store =>
        {
            var head = store.HeadPosition();
            if (after == ReadEventLog.FromEnd || after >= head)
                return new EventLogPage(requestId, [], Math.Max(after, head), head);
            var events = new List<EventRecord>();
            var bytes = 0;
            var cursor = after;
            var scanned = 0;
            while (true)
            {
                var rows = store.ReadLog(cursor, head, RowsPerQuery);
                foreach (var row in rows)
                {
                    cursor = row.Event.Position;
                    if (ToRecord(row, filter) is not { } record)
                        continue;
                    events.Add(record);
                    bytes += record.Data.Length + 128;
                    if (events.Count >= maxEvents || bytes >= BytesPerPage)
                        return new EventLogPage(requestId, events, cursor, head);
                }

                scanned += rows.Count;
                if (rows.Count < RowsPerQuery)
                    return new EventLogPage(requestId, events, head, head);
                if (scanned >= RowsPerPage)
                    return new EventLogPage(requestId, events, cursor, head);
            }
        });

    /// <summary>
    /// Events after <paramref name="after"/> for the node's tail: every row, unfiltered, at most
    /// <see cref="RowsPerQuery"/>, with the position read through.
    /// </summary>
    public Task<(List<EventRecord> Events, long Through, bool More)> ReadTailAsync(long after) =>
        database.Workers.RunAsync(store =>
        {
            var rows = store.ReadLog(after, long.MaxValue, RowsPerQuery);
            var events = new List<EventRecord>(rows.Count);
            foreach (var row in rows)
            {
                if (ToRecord(row, EventFilter.All) is { } record)
                    events.Add(record);
            }

            return (events, rows.Count > 0 ? rows[^1].Event.Position : after, rows.Count == RowsPerQuery);
        });

    /// <summary>The highest position in the journal.</summary>
    public Task<long> HeadAsync() => database.Workers.RunAsync(store => store.HeadPosition());

    /// <summary>A page of an entity's events in version order.</summary>
    public Task<EntityHistoryResult> ReadHistoryAsync(GetEntityHistory query) =>
        database.Workers.RunAsync(store =>
        {
            var persistenceId = EventEntity.PersistenceIdOf(query.EntityId);
            var version = store.HighestSequenceNr(persistenceId);
            var rows = version == 0 ? [] : store.Read(persistenceId, Math.Max(1, query.FromVersion), long.MaxValue, query.Limit);
            var events = rows.Select(row => ToRecord(new LogRow(persistenceId, row), EventFilter.All)).OfType<EventRecord>().ToList();
            return new EntityHistoryResult(query.RequestId, query.EntityId, version > 0, events, version);
        });

    /// <summary>One event of an entity by version, or null when there is none.</summary>
    public Task<EventRecord?> ReadEventAsync(string entityId, long version) =>
        database.Workers.RunAsync(store =>
        {
            var persistenceId = EventEntity.PersistenceIdOf(entityId);
            var row = store.Read(persistenceId, version, version, 1).FirstOrDefault();
            return row is null ? null : ToRecord(new LogRow(persistenceId, row), EventFilter.All);
        });

    /// <summary>Joins a group, creating it after <paramref name="from"/> (or at the current end) when it is new.</summary>
    public Task<GroupJoined> JoinGroupAsync(JoinGroup join) =>
        database.Workers.RunAsync(store =>
        {
            var start = join.From == ReadEventLog.FromEnd ? store.HeadPosition() : join.From;
            var joined = store.JoinGroup(join.Group, join.Member, start, JoinGroup.Lease);
            return new GroupJoined(join.RequestId, join.Group, joined.Position, joined.Held, joined.Created);
        });

    /// <summary>Stores a group's position and renews (or ends) its member's lease.</summary>
    public Task<GroupConfirmed> ConfirmGroupAsync(ConfirmGroup confirm) =>
        database.Workers.RunAsync(store => new GroupConfirmed(confirm.RequestId,
            store.ConfirmGroup(confirm.Group, confirm.Member, confirm.Position, confirm.Leave, JoinGroup.Lease)));

    /// <summary>Every group with its position and lag.</summary>
    public Task<GroupList> ListGroupsAsync(string requestId) =>
        database.Workers.RunAsync(store =>
        {
            var head = store.HeadPosition();
            var groups = store.ListGroups()
                .Select(group => new GroupInfo(group.Name, group.Position, Lag.Of(store, group.Position, head),
                    group.Active, DateTimeOffset.FromUnixTimeMilliseconds(group.UpdatedMilliseconds)))
                .ToList();
            return new GroupList(requestId, head, groups);
        });

    /// <summary>
    /// The payload on one line: a body posted pretty-printed is stored as sent, and a line break
    /// would cut a JSON line or a Server-Sent Event in two (in valid JSON it can only be
    /// whitespace between tokens).
    /// </summary>
    private static string Compact(string json) =>
        json.AsSpan().IndexOfAny('\n', '\r') < 0 ? json : System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonDocument.Parse(json).RootElement);

    /// <summary>The event of a journal row as readers see it, or null when it is not an entity event or does not match.</summary>
    private EventRecord? ToRecord(LogRow row, EventFilter filter)
    {
        const string prefix = "entity-";
        if (!row.PersistenceId.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        var entityId = row.PersistenceId[prefix.Length..];
        if (!filter.MatchesEntity(entityId))
            return null;
        var journalRow = row.Event.Row;
        if (journalRow.SerializerId != EventClusterSerializer.SerializerId || journalRow.Manifest != EventClusterSerializer.EventAppliedManifest)
            return null;
        EventApplied? applied;
        try
        {
            applied = system.Serialization.Deserialize(journalRow.Message, journalRow.SerializerId, journalRow.Manifest) as EventApplied;
        }
        catch (Exception ex)
        {
            // One unreadable row must not stop every reader behind it: it is skipped, loudly.
            system.Log.Warning("Event log: skipped the unreadable event at position {0} ({1} v{2}): {3}", row.Event.Position, entityId, journalRow.SequenceNr, ex.Message);
            return null;
        }

        if (applied is null || !filter.MatchesRecordType(applied.Type))
            return null;
        return EntityErasure.IsErased(applied.Type)
            ? new EventRecord(entityId, journalRow.SequenceNr, row.Event.Position, applied.EventId, applied.Type, "{}", applied.At, Erased: true)
            : new EventRecord(entityId, journalRow.SequenceNr, row.Event.Position, applied.EventId, applied.Type, Compact(applied.Data), applied.At);
    }
}

/// <summary>How many events lie after a reader's position.</summary>
public static class Lag
{
    /// <summary>Beyond this distance from the head, lag is the distance itself rather than a count.</summary>
    public const long CountedUpTo = 100_000;

    /// <summary>
    /// Events stored after <paramref name="position"/>: counted exactly within
    /// <see cref="CountedUpTo"/> positions of <paramref name="head"/>; further back, the distance
    /// in positions (an upper bound: a write that rolled back leaves an unused position), so that
    /// a reader far behind does not cost a scan of its whole backlog on every look.
    /// </summary>
    public static long Of(IJournalStore store, long position, long head) =>
        position >= head ? 0 : head - position > CountedUpTo ? head - position : store.CountAfter(position);
}
