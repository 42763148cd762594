using System.Data.Common;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Serialization;
using EventCluster.Node.Entities;
using EventCluster.Node.Journal;
using EventCluster.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit.Abstractions;

namespace EventCluster.Tests.Unit;

/// <summary>The embedded journal and snapshot store on a real SQLite file.</summary>
public sealed class SqliteJournalPluginSpecs(ITestOutputHelper output) : JournalPluginSpecs(JournalUnderTest.Sqlite(), output);

/// <summary>The PostgreSQL journal and snapshot store on a fresh database of a real server.</summary>
public sealed class PostgresJournalPluginSpecs(ITestOutputHelper output) : JournalPluginSpecs(JournalUnderTest.Postgres(), output);

/// <summary>A journal database for one spec: its settings, how to query it, and how to remove it.</summary>
public sealed class JournalUnderTest : IDisposable
{
    private readonly Action _dispose;

    private JournalUnderTest(string? missing, JournalSettings settings, Func<DbConnection> open, Action dispose)
    {
        Missing = missing;
        Settings = settings;
        Open = open;
        _dispose = dispose;
    }

    /// <summary>Why this database cannot be tested here, or null.</summary>
    public string? Missing { get; }

    /// <summary>The journal settings pointing at it.</summary>
    public JournalSettings Settings { get; }

    /// <summary>Opens a connection of the spec's own, outside the journal.</summary>
    public Func<DbConnection> Open { get; }

    /// <summary>A SQLite file in a temporary directory.</summary>
    public static JournalUnderTest Sqlite()
    {
        var directory = new TempDirectory("journal-specs");
        var file = Path.Combine(directory.Path, "journal.db");
        return new JournalUnderTest(null, JournalSettings.Parse($"sqlite:{file}"), () =>
        {
            var connection = new SqliteConnection($"Data Source={file};Pooling=false");
            connection.Open();
            return connection;
        }, () =>
        {
            SqliteConnection.ClearAllPools();
            directory.Dispose();
        });
    }

    /// <summary>A new database on the test server (or, with none, a stand-in whose specs skip).</summary>
    public static JournalUnderTest Postgres()
    {
        if (PostgresDatabase.Unavailable() is { } missing)
        {
            var stand = Sqlite();
            return new JournalUnderTest(missing, stand.Settings, stand.Open, stand.Dispose);
        }

        var database = PostgresDatabase.CreateAsync().GetAwaiter().GetResult();
        return new JournalUnderTest(null, JournalSettings.Parse($"postgres:{database.ConnectionString}"), () =>
        {
            var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
            connection.Open();
            return connection;
        }, () => database.DisposeAsync().AsTask().GetAwaiter().GetResult());
    }

    /// <inheritdoc />
    public void Dispose() => _dispose();
}

/// <summary>
/// The behaviours of EventCluster's journal and snapshot store that entities and readers rely on,
/// run on each database. (The Akka.Persistence plugin TCK covers the generic contract.)
/// </summary>
public abstract class JournalPluginSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string Node = "akka.tcp://eventcluster@127.0.0.1:4053";
    private static readonly EntityPassivation Passivation = new(long.MaxValue, TimeSpan.FromSeconds(5));

    private readonly JournalUnderTest _database;
    private readonly ITestOutputHelper _output;

    protected JournalPluginSpecs(JournalUnderTest database, ITestOutputHelper output) : base(ConfigFor(database.Settings), output: output)
    {
        _database = database;
        _output = output;
    }

    private IActorRef Journal => Persistence.Instance.Apply(Sys).JournalFor(null);

    private IActorRef SnapshotStore => Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    [SkippableFact]
    public void Should_recover_an_entity_from_the_events_it_wrote()
    {
        SkipWithoutDatabase();
        var entity = Sys.ActorOf(EventEntity.Props("acct-1", Node, Passivation));
        for (var i = 1; i <= 3; i++)
            entity.Tell(new SubmitEvent("acct-1", $"e{i}", "deposit", $$"""{"n":{{i}}}"""));
        ExpectMsg<EventAccepted>();
        ExpectMsg<EventAccepted>();
        var third = ExpectMsg<EventAccepted>();
        Assert.Equal(3, third.Version);
        Watch(entity);
        entity.Tell(PoisonPill.Instance);
        ExpectTerminated(entity);

        var revived = Sys.ActorOf(EventEntity.Props("acct-1", Node, Passivation));
        revived.Tell(new GetEntityState("acct-1"));
        var state = ExpectMsg<EntityStateResult>();
        // A retry after the restart is a duplicate, answered with the event's original position.
        revived.Tell(new SubmitEvent("acct-1", "e3", "deposit", "{}"));
        var duplicate = ExpectMsg<EventAccepted>();

        Assert.Equal(3, state.Version);
        Assert.Equal(3, state.EventCount);
        Assert.Equal(3, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'entity-acct-1'"));
        Assert.True(duplicate.Duplicate);
        Assert.Equal(third.Position, duplicate.Position);
    }

    [SkippableFact]
    public void Should_commit_the_concurrent_writes_of_many_entities_each_exactly_once_with_positions_in_commit_order()
    {
        SkipWithoutDatabase();
        const int entities = 200, events = 5;
        var refs = Enumerable.Range(0, entities).Select(i => Sys.ActorOf(EventEntity.Props($"many-{i}", Node, Passivation))).ToList();

        for (var n = 1; n <= events; n++)
        {
            for (var i = 0; i < entities; i++)
                refs[i].Tell(new SubmitEvent($"many-{i}", $"e{n}", "t", "{}"));
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var accepted = ReceiveN(entities * events, TimeSpan.FromSeconds(60)).Cast<EventAccepted>().ToList();
        _output.WriteLine($"{accepted.Count} acknowledged in {clock.ElapsedMilliseconds} ms");
        Assert.All(accepted, a => Assert.False(a.Duplicate));
        Assert.Equal(entities * events, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'entity-many-%'"));
        Assert.Equal(entities, Scalar("SELECT COUNT(DISTINCT persistence_id) FROM journal WHERE persistence_id LIKE 'entity-many-%' AND sequence_number = 5"));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'entity-many-%' AND sequence_number > 5"));
        // Every acknowledgement carries the position the journal stored, unique and increasing with each entity's versions.
        var stored = Rows("SELECT persistence_id, sequence_number, ordering FROM journal WHERE persistence_id LIKE 'entity-many-%'")
            .ToDictionary(row => ((string)row[0], Convert.ToInt64(row[1])), row => Convert.ToInt64(row[2]));
        Assert.All(accepted, a => Assert.Equal(stored[($"entity-{a.EntityId}", a.Version)], a.Position));
        Assert.Equal(accepted.Count, accepted.Select(a => a.Position).Distinct().Count());
        Assert.All(accepted.GroupBy(a => a.EntityId), entity =>
            Assert.Equal(entity.OrderBy(a => a.Version).Select(a => a.Position), entity.OrderBy(a => a.Position).Select(a => a.Position)));
    }

    [SkippableFact]
    public void Should_fail_only_the_write_whose_version_another_writer_holds()
    {
        SkipWithoutDatabase();
        Write("entity-taken", 1, "first-writer");
        var free = CreateTestProbe();
        var taken = CreateTestProbe();
        var later = CreateTestProbe();

        // Queued together, the three may share one transaction: only the taken version fails.
        Journal.Tell(WriteOf("entity-free-0", 1, free.Ref));
        Journal.Tell(WriteOf("entity-taken", 1, taken.Ref));
        Journal.Tell(WriteOf("entity-free-1", 1, later.Ref));

        free.ExpectMsg<WriteMessagesSuccessful>();
        free.ExpectMsg<WriteMessageSuccess>();
        taken.ExpectMsg<WriteMessagesFailed>();
        taken.ExpectMsg<WriteMessageFailure>();
        later.ExpectMsg<WriteMessagesSuccessful>();
        later.ExpectMsg<WriteMessageSuccess>();
        Assert.Equal("first-writer", Text("SELECT writer_uuid FROM journal WHERE persistence_id = 'entity-taken'"));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'entity-free-1'"));
    }

    [SkippableFact]
    public void Should_replay_within_the_requested_bounds_and_report_the_highest_version()
    {
        SkipWithoutDatabase();
        for (var seq = 1; seq <= 5; seq++)
            Write("entity-replay", seq, "writer");

        Journal.Tell(new ReplayMessages(2, 4, 2, "entity-replay", TestActor));

        Assert.Equal(2, ExpectMsg<ReplayedMessage>().Persistent.SequenceNr);
        var third = ExpectMsg<ReplayedMessage>().Persistent;
        Assert.Equal(3, third.SequenceNr);
        Assert.Equal("event-3", ((EventApplied)third.Payload).EventId);
        Assert.Equal(5, ExpectMsg<RecoverySuccess>().HighestSequenceNr);

        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "entity-never-written", TestActor));
        Assert.Equal(0, ExpectMsg<RecoverySuccess>().HighestSequenceNr);
    }

    [SkippableFact]
    public void Should_replay_a_history_longer_than_one_page_in_order()
    {
        SkipWithoutDatabase();
        const int events = 2_500;
        var writes = Enumerable.Range(1, events)
            .Select(seq => (IPersistentEnvelope)new AtomicWrite(new Persistent(EventOf(seq), seq, "entity-long", string.Empty, false, ActorRefs.NoSender, "w")))
            .ToList();
        Journal.Tell(new WriteMessages(writes, TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        ReceiveN(events);

        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "entity-long", TestActor));
        var replayed = ReceiveN(events, TimeSpan.FromSeconds(30)).Cast<ReplayedMessage>().Select(m => m.Persistent.SequenceNr).ToList();

        Assert.Equal(Enumerable.Range(1, events).Select(i => (long)i), replayed);
        Assert.Equal(events, ExpectMsg<RecoverySuccess>().HighestSequenceNr);
    }

    [SkippableFact]
    public void Should_mark_events_deleted_keep_the_highest_version_and_publish_the_deletion()
    {
        SkipWithoutDatabase();
        for (var seq = 1; seq <= 3; seq++)
            Write("entity-delete", seq, "writer");
        var published = CreateTestProbe();
        Sys.EventStream.Subscribe(published.Ref, typeof(DeleteMessagesTo));

        Journal.Tell(new DeleteMessagesTo("entity-delete", 2, TestActor));
        ExpectMsg<DeleteMessagesSuccess>();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "entity-delete", TestActor));

        Assert.Equal(3, ExpectMsg<ReplayedMessage>().Persistent.SequenceNr);
        Assert.Equal(3, ExpectMsg<RecoverySuccess>().HighestSequenceNr);
        Assert.Equal("entity-delete", published.ExpectMsg<DeleteMessagesTo>().PersistenceId);
    }

    [SkippableFact]
    public async Task Should_write_tagged_events_with_their_tags_and_answer_queries_by_tag()
    {
        SkipWithoutDatabase();
        var tagged = new Tagged(EventOf(1), ["blue", "green"]);
        Journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(tagged, 1, "entity-tagged", string.Empty, false, ActorRefs.NoSender, "w"))],
            TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        ExpectMsg<WriteMessageSuccess>();
        Write("entity-untagged", 1, "w");

        var queries = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var green = await queries.CurrentEventsByTag("green", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());

        var tags = Text("SELECT tags FROM journal WHERE persistence_id = 'entity-tagged'");
        Assert.StartsWith(";", tags);
        Assert.EndsWith(";", tags);
        Assert.Equal(["blue", "green"], tags.Split(';', StringSplitOptions.RemoveEmptyEntries).Order());
        var envelope = Assert.Single(green);
        Assert.Equal("entity-tagged", envelope.PersistenceId);
        Assert.Equal("event-1", ((EventApplied)envelope.Event).EventId);
    }

    [SkippableFact]
    public void Should_load_the_newest_snapshot_in_range_and_delete_by_criteria_or_by_exact_metadata()
    {
        SkipWithoutDatabase();
        var saved = new Dictionary<long, SnapshotMetadata>();
        foreach (var seq in new long[] { 10, 20, 30 })
        {
            saved[seq] = new SnapshotMetadata("entity-snap", seq, DateTime.UtcNow.AddSeconds(seq));
            SnapshotStore.Tell(new SaveSnapshot(saved[seq], EventOf(seq)));
            ExpectMsg<SaveSnapshotSuccess>();
        }

        SnapshotStore.Tell(new LoadSnapshot("entity-snap", SnapshotSelectionCriteria.Latest, long.MaxValue));
        var newest = ExpectMsg<LoadSnapshotResult>().Snapshot!;
        SnapshotStore.Tell(new LoadSnapshot("entity-snap", new SnapshotSelectionCriteria(15), long.MaxValue));
        var older = ExpectMsg<LoadSnapshotResult>().Snapshot!;
        SnapshotStore.Tell(new DeleteSnapshots("entity-snap", new SnapshotSelectionCriteria(19)));
        ExpectMsg<DeleteSnapshotsSuccess>();
        // Deleting by metadata honours its timestamp: a different one leaves the snapshot alone.
        SnapshotStore.Tell(new DeleteSnapshot(new SnapshotMetadata("entity-snap", 20, saved[20].Timestamp.AddSeconds(1))));
        ExpectMsg<DeleteSnapshotSuccess>();
        var keptWithOtherTimestamp = Scalar("SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'entity-snap' AND sequence_number = 20");
        SnapshotStore.Tell(new DeleteSnapshot(saved[20]));
        ExpectMsg<DeleteSnapshotSuccess>();

        Assert.Equal(30, newest.Metadata.SequenceNr);
        Assert.Equal("event-30", ((EventApplied)newest.Snapshot).EventId);
        Assert.Equal(10, older.Metadata.SequenceNr);
        Assert.Equal(1, keptWithOtherTimestamp);
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'entity-snap'"));
        Assert.Equal(30, Scalar("SELECT sequence_number FROM snapshot WHERE persistence_id = 'entity-snap'"));
    }

    [SkippableFact]
    public async Task Should_open_replay_and_extend_a_journal_written_by_the_previous_release()
    {
        SkipWithoutDatabase();
        // The previous release wrote Akka.Persistence.Sql's tables (through that plugin on
        // PostgreSQL, and in its layout on SQLite): write three events of an entity that way.
        var settings = _database.Settings;
        var connection = settings.ConnectionString.Replace("\\", "\\\\").Replace("\"", "\\\"");
        var previous = ActorSystem.Create("previous", ConfigurationFactory.ParseString($$"""
                akka.persistence.journal.plugin = "akka.persistence.journal.sql"
                akka.persistence.journal.sql { connection-string = "{{connection}}", provider-name = "{{settings.ProviderName}}", auto-initialize = on, tag-write-mode = Csv }
                akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
                akka.persistence.snapshot-store.sql { connection-string = "{{connection}}", provider-name = "{{settings.ProviderName}}", auto-initialize = on }
                """)
            .WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding))
            .WithFallback(SqlPersistence.DefaultConfiguration));
        try
        {
            var old = previous.ActorOf(EventEntity.Props("legacy", Node, Passivation));
            for (var i = 1; i <= 3; i++)
                Assert.IsType<EventAccepted>(await old.Ask<object>(new SubmitEvent("legacy", $"old-{i}", "t", $$"""{"n":{{i}}}"""), TimeSpan.FromSeconds(20)));
        }
        finally
        {
            await previous.Terminate();
        }

        var entity = Sys.ActorOf(EventEntity.Props("legacy", Node, Passivation));
        entity.Tell(new GetEntityState("legacy"));
        var recovered = ExpectMsg<EntityStateResult>(TimeSpan.FromSeconds(20));
        entity.Tell(new SubmitEvent("legacy", "old-2", "t", "{}"));
        var duplicate = ExpectMsg<EventAccepted>();
        entity.Tell(new SubmitEvent("legacy", "new-1", "t", """{"n":4}"""));
        var accepted = ExpectMsg<EventAccepted>();

        Assert.Equal(3, recovered.Version);
        Assert.Equal("""{"n":3}""", recovered.Data);
        Assert.True(duplicate.Duplicate);
        Assert.Equal(4, accepted.Version);
        Assert.Equal(Scalar("SELECT MAX(ordering) FROM journal"), accepted.Position);
        Assert.Equal(4, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'entity-legacy'"));
    }

    [SkippableFact]
    public void Should_serialize_events_and_snapshots_with_the_transport_information_set()
    {
        SkipWithoutDatabase();
        Journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new TransportProbe("probe"), 1, "entity-transport", string.Empty, false,
            ActorRefs.NoSender, "w"))], TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        ExpectMsg<WriteMessageSuccess>();
        SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata("entity-transport", 1, DateTime.UtcNow), new TransportProbe("snapshot")));
        ExpectMsg<SaveSnapshotSuccess>();

        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "entity-transport", TestActor));
        var replayed = ExpectMsg<ReplayedMessage>().Persistent.Payload;
        ExpectMsg<RecoverySuccess>();
        SnapshotStore.Tell(new LoadSnapshot("entity-transport", SnapshotSelectionCriteria.Latest, long.MaxValue));
        var loaded = ExpectMsg<LoadSnapshotResult>().Snapshot!.Snapshot;

        Assert.Equal(new TransportProbe("probe"), replayed);
        Assert.Equal(new TransportProbe("snapshot"), loaded);
    }

    [SkippableFact]
    public async Task Should_run_event_adapters_on_write_and_replay_keeping_their_manifest_and_tags()
    {
        SkipWithoutDatabase();
        Journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new Note("Hello"), 1, "entity-notes", string.Empty, false,
            ActorRefs.NoSender, "w"))], TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        ExpectMsg<WriteMessageSuccess>();

        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "entity-notes", TestActor));
        var replayed = ExpectMsg<ReplayedMessage>().Persistent;
        ExpectMsg<RecoverySuccess>();
        var queries = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var tagged = await queries.CurrentEventsByTag("notes", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());

        Assert.Equal(new Note("hello"), replayed.Payload);
        Assert.Equal(NoteAdapter.NoteManifest, replayed.Manifest);
        Assert.Equal(NoteAdapter.NoteManifest, Text("SELECT event_manifest FROM journal WHERE persistence_id = 'entity-notes'"));
        Assert.Equal(";notes;", Text("SELECT tags FROM journal WHERE persistence_id = 'entity-notes'"));
        Assert.Equal("entity-notes", Assert.Single(tagged).PersistenceId);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
            _database.Dispose();
    }

    private void SkipWithoutDatabase() => Prerequisites.SkipIfMissing(_database.Missing, _output);

    private static Config ConfigFor(JournalSettings settings) =>
        ConfigurationFactory.ParseString($$"""
                akka.persistence.publish-plugin-commands = on
                akka.persistence.journal.eventcluster-{{settings.Kind}} {
                  event-adapters.note = "EventCluster.Tests.Unit.NoteAdapter, EventCluster.Tests"
                  event-adapter-bindings { "EventCluster.Tests.Unit.Note, EventCluster.Tests" = note, "EventCluster.Tests.Unit.StoredNote, EventCluster.Tests" = note }
                }
                """)
            .WithFallback(ConfigurationFactory.ParseString(TransportCheckingSerializer.Binding))
            .WithFallback(ConfigurationFactory.ParseString(settings.ToHocon()))
            .WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding))
            .WithFallback(SqlPersistence.DefaultConfiguration);

    private static EventApplied EventOf(long seq) => new($"event-{seq}", "t", "{}", DateTimeOffset.UnixEpoch);

    private static WriteMessages WriteOf(string persistenceId, long seq, IActorRef persistentActor) =>
        new([new AtomicWrite(new Persistent(EventOf(seq), seq, persistenceId, string.Empty, false, ActorRefs.NoSender, $"writer-{persistentActor.Path.Name}"))],
            persistentActor, 1);

    private void Write(string persistenceId, long seq, string writer)
    {
        Journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(EventOf(seq), seq, persistenceId, string.Empty, false, ActorRefs.NoSender, writer))],
            TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        ExpectMsg<WriteMessageSuccess>();
    }

    private long Scalar(string sql) => Convert.ToInt64(Query(sql));

    private string Text(string sql) => Convert.ToString(Query(sql))!;

    private List<object[]> Rows(string sql)
    {
        using var connection = _database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object[]>();
        while (reader.Read())
        {
            var row = new object[reader.FieldCount];
            reader.GetValues(row);
            rows.Add(row);
        }

        return rows;
    }

    private object? Query(string sql)
    {
        using var connection = _database.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
