using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence;
using Akka.Serialization;
using Microsoft.Data.Sqlite;

namespace EventCluster.Node.Journal;

/// <summary>
/// The embedded journal: a persistence plugin that group-commits the writes of all entities of
/// a node into one SQLite transaction at a time.
/// </summary>
/// <remarks>
/// <para>While a transaction runs, new writes queue up; when it commits, every entity in it is
/// answered and the queue becomes the next transaction. Under load a transaction carries
/// hundreds of events; alone, an event is written at once. An entity is answered only after the
/// commit that holds its event, so acknowledgement still means durable.</para>
/// <para>A transaction that fails on a version another writer already holds is retried write by
/// write, so that refused write fails only its own entity.</para>
/// <para>A replay of an entity with a write in flight waits for that write, so a restarted entity
/// never reads a highest version that is about to change.</para>
/// </remarks>
public sealed class SqliteJournal : ActorBase
{
    /// <summary>The plugin's configuration path.</summary>
    public const string PluginId = "akka.persistence.journal.eventcluster-sqlite";

    /// <summary>SQLite's result code for a constraint violation (here: a version another writer holds).</summary>
    private const int SqliteConstraintError = 19;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Serialization.Serialization _serialization = Context.System.Serialization;
    private readonly string _connectionString;
    private readonly int _maxBatchSize;
    private readonly List<Pending> _queue = [];
    private readonly Dictionary<string, int> _writesInFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ReplayMessages>> _replaysWaiting = new(StringComparer.Ordinal);
    private readonly SqliteStorePool _readers;
    private SqliteJournalStore? _writer;
    private bool _writing;

    /// <summary>Creates the journal from its plugin configuration.</summary>
    public SqliteJournal(Config config)
    {
        _connectionString = config.GetString("connection-string")
                            ?? throw new ConfigurationException($"{PluginId}.connection-string is required");
        // Tuned in hocon/persistence.hocon.
        _maxBatchSize = config.GetInt("max-batch-size", 1000);
        _readers = new SqliteStorePool(_connectionString);
    }

    /// <summary>HOCON of the plugin for a SQLite connection string.</summary>
    public static string Hocon(string quotedConnectionString) => SqliteStorePool.PluginHocon(PluginId, typeof(SqliteJournal), quotedConnectionString);

    /// <inheritdoc />
    protected override bool Receive(object message)
    {
        switch (message)
        {
            case WriteMessages write:
                Enqueue(write);
                return true;
            case BatchDone done:
                Complete(done);
                return true;
            case ReplayMessages replay:
                if (_writesInFlight.ContainsKey(replay.PersistenceId))
                    WaitingReplays(replay.PersistenceId).Add(replay);
                else
                    StartReplay(replay);
                return true;
            case DeleteMessagesTo delete:
                WithReader(store =>
                    {
                        store.MarkDeleted(delete.PersistenceId, delete.ToSequenceNr);
                        return new DeleteMessagesSuccess(delete.ToSequenceNr);
                    }, ex => new DeleteMessagesFailure(ex, delete.ToSequenceNr))
                    .PipeTo(delete.PersistentActor);
                return true;
            default:
                return false;
        }
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        // Nobody may wait forever: queued writes and deferred replays are failed, not dropped.
        // (A transaction still running completes; its reply reaches dead letters and its
        // entities time out, as with any journal that stops mid-write.)
        var stopped = new InvalidOperationException("the journal stopped");
        foreach (var pending in _queue)
            Reply(pending, stopped);
        _queue.Clear();
        foreach (var replay in _replaysWaiting.Values.SelectMany(replays => replays))
            replay.PersistentActor.Tell(new ReplayMessagesFailure(stopped));
        _replaysWaiting.Clear();
        if (!_writing)
            _writer?.Dispose();
        _readers.Dispose();
        base.PostStop();
    }

    private void Enqueue(WriteMessages write)
    {
        List<IReadOnlyList<JournalRow>> rows = [];
        List<Exception?> rejections = [];
        foreach (var envelope in write.Messages)
        {
            if (envelope is not AtomicWrite atomic)
                continue;
            try
            {
                rows.Add(atomic.Payload is IEnumerable<IPersistentRepresentation> payload ? payload.Select(ToRow).ToList() : []);
                rejections.Add(null);
            }
            catch (Exception ex)
            {
                // An event that cannot be serialized is refused before it reaches the database.
                rows.Add([]);
                rejections.Add(ex);
            }
        }

        var pending = new Pending(write, rows, rejections);
        foreach (var persistenceId in pending.PersistenceIds)
            _writesInFlight[persistenceId] = _writesInFlight.GetValueOrDefault(persistenceId) + 1;
        _queue.Add(pending);
        if (!_writing)
            StartBatch();
    }

    private JournalRow ToRow(IPersistentRepresentation persistent)
    {
        var payload = persistent.Payload;
        var serializer = _serialization.FindSerializerFor(payload);
        return new JournalRow(persistent.PersistenceId, persistent.SequenceNr, serializer.ToBinary(payload), serializer.Identifier,
            Serialization.ManifestFor(serializer, payload), persistent.WriterGuid ?? "");
    }

    private void StartBatch()
    {
        var batch = new List<Pending>();
        var events = 0;
        while (_queue.Count > batch.Count && (batch.Count == 0 || events + _queue[batch.Count].EventCount <= _maxBatchSize))
        {
            events += _queue[batch.Count].EventCount;
            batch.Add(_queue[batch.Count]);
        }

        _queue.RemoveRange(0, batch.Count);
        _writing = true;
        var self = Self;
        Task.Run(() => Write(batch)).PipeTo(self);
    }

    /// <summary>Runs on a pool thread; the actor does not touch the writer connection meanwhile.</summary>
    private BatchDone Write(List<Pending> batch)
    {
        var error = WriteRows(batch.SelectMany(pending => pending.Accepted).ToList());
        if (error is null)
            return new BatchDone(batch, null, null);
        // A version another writer already holds fails the transaction: write each entity's
        // events on their own so that only that write fails. Any other error (the file lock not
        // released within the busy timeout, an I/O error) would fail each of them alike.
        if (batch.Count > 1 && error is SqliteException { SqliteErrorCode: SqliteConstraintError })
            return new BatchDone(batch, batch.Select(pending => WriteRows(pending.Accepted.ToList())).ToList(), RetriedAfter: error);
        return new BatchDone(batch, batch.Select(_ => (Exception?)error).ToList(), null);
    }

    /// <summary>Writes the rows in one transaction; the error, or null. A failed connection is replaced by the next write.</summary>
    private Exception? WriteRows(List<IReadOnlyList<JournalRow>> rows)
    {
        if (rows.All(write => write.Count == 0))
            return null;
        try
        {
            _writer ??= SqliteJournalStore.Open(_connectionString);
            _writer.WriteAll(rows);
            return null;
        }
        catch (Exception ex)
        {
            if (ex is not SqliteException { SqliteErrorCode: SqliteConstraintError })
            {
                _writer?.Discard();
                _writer = null;
            }

            return ex;
        }
    }

    private void Complete(BatchDone done)
    {
        if (done.RetriedAfter is not null)
            _log.Warning(done.RetriedAfter, "Journal transaction of {0} writes hit a version already written; wrote them one by one",
                done.Batch.Count);
        for (var i = 0; i < done.Batch.Count; i++)
        {
            var pending = done.Batch[i];
            var failure = done.Failures?[i];
            Reply(pending, failure);
            foreach (var persistenceId in pending.PersistenceIds)
            {
                if (!_writesInFlight.TryGetValue(persistenceId, out var inFlight))
                    continue;
                var left = inFlight - 1;
                if (left > 0)
                {
                    _writesInFlight[persistenceId] = left;
                    continue;
                }

                _writesInFlight.Remove(persistenceId);
                if (_replaysWaiting.Remove(persistenceId, out var replays))
                    replays.ForEach(StartReplay);
            }
        }

        _writing = false;
        if (_queue.Count > 0)
            StartBatch();
    }

    private void Reply(Pending pending, Exception? failure)
    {
        var write = pending.Write;
        var actor = write.PersistentActor;
        if (failure is not null)
        {
            _log.Error(failure, "Journal write for {0} failed", string.Join(",", pending.PersistenceIds));
            actor.Tell(new WriteMessagesFailed(failure, pending.Rows.Count), Self);
        }
        else
            actor.Tell(WriteMessagesSuccessful.Instance, Self);

        var atomicIndex = 0;
        foreach (var envelope in write.Messages)
        {
            if (envelope is not AtomicWrite atomic)
            {
                actor.Tell(new LoopMessageSuccess(envelope.Payload, write.ActorInstanceId), envelope.Sender);
                continue;
            }

            var rejection = pending.Rejections[atomicIndex++];
            foreach (var persistent in (IEnumerable<IPersistentRepresentation>)atomic.Payload)
            {
                object reply = failure is not null ? new WriteMessageFailure(persistent, failure, write.ActorInstanceId)
                    : rejection is not null ? new WriteMessageRejected(persistent, rejection, write.ActorInstanceId)
                    : new WriteMessageSuccess(persistent, write.ActorInstanceId);
                actor.Tell(reply, persistent.Sender);
            }
        }
    }

    private List<ReplayMessages> WaitingReplays(string persistenceId)
    {
        if (!_replaysWaiting.TryGetValue(persistenceId, out var replays))
            _replaysWaiting[persistenceId] = replays = [];
        return replays;
    }

    private void StartReplay(ReplayMessages replay)
    {
        var serialization = _serialization;
        WithReader(store =>
            {
                var highest = store.HighestSequenceNr(replay.PersistenceId);
                var to = Math.Min(replay.ToSequenceNr, highest);
                if (highest > 0 && replay.FromSequenceNr <= to)
                {
                    foreach (var (row, created) in store.Read(replay.PersistenceId, replay.FromSequenceNr, to, replay.Max))
                    {
                        var payload = serialization.Deserialize(row.Message, row.SerializerId, row.Manifest);
                        var persistent = new Persistent(payload, row.SequenceNr, row.PersistenceId, string.Empty, false,
                            ActorRefs.NoSender, row.WriterUuid, created);
                        replay.PersistentActor.Tell(new ReplayedMessage(persistent), ActorRefs.NoSender);
                    }
                }

                return new RecoverySuccess(highest);
            }, ex => new ReplayMessagesFailure(ex))
            .PipeTo(replay.PersistentActor);
    }

    private Task<object> WithReader(Func<SqliteJournalStore, object> read, Func<Exception, object> failed) =>
        _readers.RunAsync(read).ContinueWith(task => task.IsCompletedSuccessfully ? task.Result : failed(task.Exception!.GetBaseException()),
            TaskContinuationOptions.ExecuteSynchronously);

    private sealed class Pending(WriteMessages write, List<IReadOnlyList<JournalRow>> rows, List<Exception?> rejections)
    {
        public WriteMessages Write { get; } = write;

        public List<IReadOnlyList<JournalRow>> Rows { get; } = rows;

        public List<Exception?> Rejections { get; } = rejections;

        public IEnumerable<IReadOnlyList<JournalRow>> Accepted => Rows.Where((_, i) => Rejections[i] is null);

        public int EventCount { get; } = rows.Sum(row => row.Count);

        public IReadOnlyCollection<string> PersistenceIds { get; } =
            write.Messages.OfType<AtomicWrite>().Select(atomic => atomic.PersistenceId).Distinct().ToList();
    }

    /// <summary>A finished transaction: per pending write its failure (all null: committed), and the error that made it retry write by write.</summary>
    private sealed record BatchDone(List<Pending> Batch, List<Exception?>? Failures, Exception? RetriedAfter);
}
