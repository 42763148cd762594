using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Serialization;
using EventCluster.Node.Entities;
using EventCluster.Node.Hosting;
using EventCluster.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventCluster.Tests.Unit;

/// <summary>The embedded journal and snapshot store on a real SQLite file.</summary>
public sealed class SqliteJournalSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string Node = "akka.tcp://eventcluster@127.0.0.1:4053";
    private static readonly EntityPassivation Passivation = new(long.MaxValue, TimeSpan.FromSeconds(5));

    private readonly TempDirectory _directory;
    private readonly string _file;

    public SqliteJournalSpecs() : this(new TempDirectory("journal-specs"))
    {
    }

    private SqliteJournalSpecs(TempDirectory directory) : base(ConfigFor(Path.Combine(directory.Path, "journal.db")))
    {
        _directory = directory;
        _file = Path.Combine(directory.Path, "journal.db");
    }

    private IActorRef Journal => Persistence.Instance.Apply(Sys).JournalFor(null);

    private IActorRef SnapshotStore => Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    [Fact]
    public void Should_recover_an_entity_from_the_events_it_wrote()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-1", Node, Passivation));
        for (var i = 1; i <= 3; i++)
            entity.Tell(new SubmitEvent("acct-1", $"e{i}", "deposit", $$"""{"n":{{i}}}"""));
        ExpectMsg<EventAccepted>();
        ExpectMsg<EventAccepted>();
        Assert.Equal(3, ExpectMsg<EventAccepted>().Version);
        Watch(entity);
        entity.Tell(PoisonPill.Instance);
        ExpectTerminated(entity);

        var revived = Sys.ActorOf(EventEntity.Props("acct-1", Node, Passivation));
        revived.Tell(new GetEntityState("acct-1"));
        var state = ExpectMsg<EntityStateResult>();

        Assert.Equal(3, state.Version);
        Assert.Equal(3, state.EventCount);
        Assert.Equal(3, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id = 'entity-acct-1'"));
    }

    [Fact]
    public void Should_commit_the_concurrent_writes_of_many_entities_each_exactly_once()
    {
        const int entities = 200, events = 5;
        var refs = Enumerable.Range(0, entities).Select(i => Sys.ActorOf(EventEntity.Props($"many-{i}", Node, Passivation))).ToList();

        for (var n = 1; n <= events; n++)
        {
            for (var i = 0; i < entities; i++)
                refs[i].Tell(new SubmitEvent($"many-{i}", $"e{n}", "t", "{}"));
        }

        var accepted = ReceiveN(entities * events, TimeSpan.FromSeconds(30)).Cast<EventAccepted>().ToList();
        Assert.All(accepted, a => Assert.False(a.Duplicate));
        Assert.Equal(entities * events, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'entity-many-%'"));
        Assert.Equal(entities, Scalar("SELECT COUNT(DISTINCT persistence_id) FROM journal WHERE persistence_id LIKE 'entity-many-%' AND sequence_number = 5"));
        Assert.Equal(0, Scalar("SELECT COUNT(*) FROM journal WHERE persistence_id LIKE 'entity-many-%' AND sequence_number > 5"));
    }

    [Fact]
    public void Should_fail_only_the_write_whose_version_another_writer_holds()
    {
        Write("entity-taken", 1, "first-writer");
        var free = CreateTestProbe();
        var taken = CreateTestProbe();
        var later = CreateTestProbe();

        // The first write starts a transaction at once; the next two queue behind it and share one.
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

    [Fact]
    public void Should_replay_within_the_requested_bounds_and_report_the_highest_version()
    {
        for (var seq = 1; seq <= 5; seq++)
        {
            Journal.Tell(WriteOf("entity-replay", seq, TestActor));
            ExpectMsg<WriteMessagesSuccessful>();
            ExpectMsg<WriteMessageSuccess>();
        }

        Journal.Tell(new ReplayMessages(2, 4, 2, "entity-replay", TestActor));

        Assert.Equal(2, ExpectMsg<ReplayedMessage>().Persistent.SequenceNr);
        var third = ExpectMsg<ReplayedMessage>().Persistent;
        Assert.Equal(3, third.SequenceNr);
        Assert.Equal("event-3", ((EventApplied)third.Payload).EventId);
        Assert.Equal(5, ExpectMsg<RecoverySuccess>().HighestSequenceNr);

        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "entity-never-written", TestActor));
        Assert.Equal(0, ExpectMsg<RecoverySuccess>().HighestSequenceNr);
    }

    [Fact]
    public void Should_load_the_newest_snapshot_in_range_and_delete_old_ones()
    {
        foreach (var seq in new long[] { 10, 20 })
        {
            SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata("entity-snap", seq, DateTime.UtcNow), EventOf(seq)));
            ExpectMsg<SaveSnapshotSuccess>();
        }

        SnapshotStore.Tell(new LoadSnapshot("entity-snap", SnapshotSelectionCriteria.Latest, long.MaxValue));
        var newest = ExpectMsg<LoadSnapshotResult>().Snapshot!;
        SnapshotStore.Tell(new LoadSnapshot("entity-snap", new SnapshotSelectionCriteria(15), long.MaxValue));
        var older = ExpectMsg<LoadSnapshotResult>().Snapshot!;
        SnapshotStore.Tell(new DeleteSnapshots("entity-snap", new SnapshotSelectionCriteria(19)));
        ExpectMsg<DeleteSnapshotsSuccess>();
        SnapshotStore.Tell(new LoadSnapshot("entity-snap", new SnapshotSelectionCriteria(15), long.MaxValue));
        var afterDelete = ExpectMsg<LoadSnapshotResult>().Snapshot;

        Assert.Equal(20, newest.Metadata.SequenceNr);
        Assert.Equal("event-20", ((EventApplied)newest.Snapshot).EventId);
        Assert.Equal(10, older.Metadata.SequenceNr);
        Assert.Null(afterDelete);
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM snapshot WHERE persistence_id = 'entity-snap'"));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            SqliteConnection.ClearAllPools();
            _directory.Dispose();
        }
    }

    private static Config ConfigFor(string file) =>
        ConfigurationFactory.ParseString(JournalSettings.Parse($"sqlite:{file}").ToHocon())
            .WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding))
            .WithFallback(SqlPersistence.DefaultConfiguration);

    private static EventApplied EventOf(long seq) => new($"event-{seq}", "t", "{}", DateTimeOffset.UnixEpoch);

    private WriteMessages WriteOf(string persistenceId, long seq, IActorRef persistentActor) =>
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

    private object? Query(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_file};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
