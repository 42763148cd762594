using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using EventCluster.Messages.Serialization;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Journal;

/// <summary>
/// EventCluster's journal, on Akka.Persistence's <see cref="AsyncWriteJournal"/>: the base class
/// brings the replay filter against writers of an old incarnation, the circuit breaker, event
/// adapters and plugin-command publishing; this class adds group commit (one writer per node,
/// see <see cref="JournalWriter"/>), bounded reader threads and global positions.
/// </summary>
public abstract class EventJournal : AsyncWriteJournal
{
    /// <summary>Rows read per query while replaying, so that a long replay never holds a whole history in memory.</summary>
    public const int ReplayPageSize = 1000;

    /// <summary>Akka.Persistence.Sql's separator of tags in the CSV <c>tags</c> column.</summary>
    public const string TagSeparator = ";";

    private readonly JournalDatabase _database;
    private readonly JournalPositions _positions;
    private readonly NodeTracing _tracing;
    private readonly NodeMetrics _metrics;
    private readonly ExtendedActorSystem _system;
    private readonly Akka.Serialization.Serialization _serialization;

    // The latest write of each entity still in flight: a replay of that entity waits for it, so
    // a restarted entity never reads a highest version that is about to change.
    private readonly ConcurrentDictionary<string, Task> _writesInFlight = new(StringComparer.Ordinal);

    /// <summary>Creates the journal for a database kind from its plugin configuration.</summary>
    protected EventJournal(string kind, Config config)
    {
        _system = (ExtendedActorSystem)Context.System;
        _serialization = _system.Serialization;
        _database = JournalDatabase.Of(_system, kind, config);
        _positions = JournalPositions.For(_system);
        _tracing = NodeTracing.Of(_system);
        _metrics = NodeMetrics.Of(_system);
    }

    /// <inheritdoc />
    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var writes = messages.ToList();
        var results = new Exception?[writes.Count];
        var rows = new List<JournalRow>();
        var created = DateTime.UtcNow.Ticks;
        for (var i = 0; i < writes.Count; i++)
        {
            try
            {
                // All events of an atomic write are serialized before any is queued: a write
                // that cannot be serialized is refused whole and reaches no database.
                rows.AddRange(((IImmutableList<IPersistentRepresentation>)writes[i].Payload).Select(p => ToRow(p, created)).ToList());
            }
            catch (Exception ex)
            {
                results[i] = ex;
            }
        }

        IImmutableList<Exception?> outcome = results.ToImmutableList();
        if (rows.Count == 0)
            return Task.FromResult(outcome);

        // The entities' spans, when the node traces, are the parents of the writer's.
        var traces = _tracing.Enabled
            ? rows.Select(row => _tracing.TakeWrite(row.PersistenceId)).Where(context => context != default).Distinct().ToList()
            : null;
        foreach (var row in rows)
            _metrics.JournalTook(row.PersistenceId);
        var written = _database.Writer.WriteAsync(rows, cancellationToken, traces);
        foreach (var persistenceId in rows.Select(row => row.PersistenceId).Distinct())
        {
            _writesInFlight[persistenceId] = written;
            written.ContinueWith(_ => _writesInFlight.TryRemove(new KeyValuePair<string, Task>(persistenceId, written)),
                TaskContinuationOptions.ExecuteSynchronously);
        }

        var positions = _positions;
        return written.ContinueWith(task =>
        {
            var (assigned, committedAt) = task.GetAwaiter().GetResult(); // a failed write fails the whole call
            for (var i = 0; i < rows.Count; i++)
            {
                if (IsEntityEvent(rows[i]))
                    positions.Record(rows[i].PersistenceId, rows[i].SequenceNr, assigned[i], committedAt);
            }

            return outcome;
        }, TaskContinuationOptions.ExecuteSynchronously);
    }

    /// <inheritdoc />
    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        if (_writesInFlight.TryGetValue(persistenceId, out var inFlight))
            await inFlight.ContinueWith(_ => { }, TaskContinuationOptions.ExecuteSynchronously);
        return await _database.Workers.RunAsync(store => store.HighestSequenceNr(persistenceId));
    }

    /// <inheritdoc />
    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr,
        long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        var from = fromSequenceNr;
        var left = max;
        while (left > 0 && from <= toSequenceNr)
        {
            var pageSize = (int)Math.Min(left, ReplayPageSize);
            var start = from;
            var page = await _database.Workers.RunAsync(store => store.Read(persistenceId, start, toSequenceNr, pageSize));
            foreach (var stored in page)
            {
                var row = stored.Row;
                var payload = Akka.Serialization.Serialization.WithTransport(_system,
                    (_serialization, row), state => state._serialization.Deserialize(state.row.Message, state.row.SerializerId, state.row.Manifest));
                if (IsEntityEvent(row))
                    _positions.Record(persistenceId, row.SequenceNr, stored.Position);
                recoveryCallback(new Persistent(payload, row.SequenceNr, persistenceId, row.EventManifest ?? string.Empty, false,
                    ActorRefs.NoSender, row.WriterUuid, row.CreatedTicks));
            }

            if (page.Count < pageSize)
                break;
            left -= page.Count;
            from = page[^1].Row.SequenceNr + 1;
        }
    }

    /// <inheritdoc />
    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) =>
        _database.Workers.RunAsync(store =>
        {
            store.MarkDeleted(persistenceId, toSequenceNr);
            return true;
        });

    /// <summary>
    /// The readiness probe's question: besides the base class's circuit breaker, the database
    /// answers a query (the highest version of an id no entity has) through a reader thread.
    /// </summary>
    public override async Task<PersistenceHealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var breaker = await base.CheckHealthAsync(cancellationToken);
        if (breaker.Status != PersistenceHealthStatus.Healthy)
            return breaker;
        try
        {
            await _database.Workers.RunAsync(store => store.HighestSequenceNr(HealthProbeId)).WaitAsync(cancellationToken);
            return new PersistenceHealthCheckResult(PersistenceHealthStatus.Healthy, $"the {_database.Kind} journal answers");
        }
        catch (OperationCanceledException)
        {
            return new PersistenceHealthCheckResult(PersistenceHealthStatus.Unhealthy, $"the {_database.Kind} journal did not answer in time");
        }
        catch (Exception ex)
        {
            return new PersistenceHealthCheckResult(PersistenceHealthStatus.Unhealthy, $"the {_database.Kind} journal failed: {ex.Message}", ex);
        }
    }

    /// <summary>A persistence id no entity can have (entity ids exclude '/'): the health query reads nothing.</summary>
    private const string HealthProbeId = "eventcluster/health";

    /// <summary>True for entity events, the ones whose positions entities take.</summary>
    private static bool IsEntityEvent(JournalRow row) =>
        row.SerializerId == EventClusterSerializer.SerializerId && row.Manifest == EventClusterSerializer.EventAppliedManifest;

    private JournalRow ToRow(IPersistentRepresentation persistent, long created)
    {
        var payload = persistent.Payload;
        string? tags = null;
        if (payload is Tagged tagged)
        {
            payload = tagged.Payload;
            tags = tagged.Tags.Count == 0 ? null : TagSeparator + string.Join(TagSeparator, tagged.Tags) + TagSeparator;
        }

        return Akka.Serialization.Serialization.WithTransport(_system, (_serialization, payload), state =>
        {
            var serializer = state._serialization.FindSerializerFor(state.payload);
            return new JournalRow(persistent.PersistenceId, persistent.SequenceNr, serializer.ToBinary(state.payload), serializer.Identifier,
                Akka.Serialization.Serialization.ManifestFor(serializer, state.payload), persistent.WriterGuid ?? "", tags,
                persistent.Timestamp == 0 ? created : persistent.Timestamp, string.IsNullOrEmpty(persistent.Manifest) ? null : persistent.Manifest);
        });
    }
}

/// <summary>The embedded journal: <see cref="EventJournal"/> on a SQLite file.</summary>
public sealed class SqliteJournal(Config config) : EventJournal("sqlite", config)
{
    /// <summary>The plugin's configuration path.</summary>
    public const string PluginId = "akka.persistence.journal.eventcluster-sqlite";
}

/// <summary>The journal for several hosts: <see cref="EventJournal"/> on PostgreSQL.</summary>
public sealed class PostgresJournal(Config config) : EventJournal("postgres", config)
{
    /// <summary>The plugin's configuration path.</summary>
    public const string PluginId = "akka.persistence.journal.eventcluster-postgres";
}
