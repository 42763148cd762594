using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace EventCluster.Node.Journal;

/// <summary>
/// EventCluster's snapshot store, in the journal's database, on the journal's reader threads.
/// Every entity asks it once when it starts, so a load is one query on a connection the node
/// already holds.
/// </summary>
public abstract class EventSnapshotStore : SnapshotStore
{
    private readonly ExtendedActorSystem _system;
    private readonly Akka.Serialization.Serialization _serialization;
    private readonly JournalDatabase _database;

    /// <summary>Creates the store for a database kind from its plugin configuration.</summary>
    protected EventSnapshotStore(string kind, Config config)
    {
        _system = (ExtendedActorSystem)Context.System;
        _serialization = _system.Serialization;
        _database = JournalDatabase.Of(_system, kind, config);
    }

    /// <inheritdoc />
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        var (system, serialization) = (_system, _serialization);
        return _database.Workers.RunAsync(store =>
        {
            if (store.LoadSnapshot(persistenceId, RangeOf(criteria)) is not { } found)
                return null;
            var snapshot = Akka.Serialization.Serialization.WithTransport(system, (serialization, found),
                state => state.serialization.Deserialize(state.found.Data, state.found.SerializerId, state.found.Manifest));
            return new SelectedSnapshot(new SnapshotMetadata(persistenceId, found.SequenceNr, new DateTime(found.CreatedTicks, DateTimeKind.Utc)), snapshot);
        });
    }

    /// <inheritdoc />
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken = default)
    {
        var stored = Akka.Serialization.Serialization.WithTransport(_system, (_serialization, snapshot, metadata), state =>
        {
            var serializer = state._serialization.FindSerializerFor(state.snapshot);
            var created = state.metadata.Timestamp == DateTime.MinValue ? DateTime.UtcNow.Ticks : Utc(state.metadata.Timestamp).Ticks;
            return new StoredSnapshot(state.metadata.SequenceNr, created, serializer.ToBinary(state.snapshot), serializer.Identifier,
                Akka.Serialization.Serialization.ManifestFor(serializer, state.snapshot));
        });
        return _database.Workers.RunAsync(store =>
        {
            store.SaveSnapshot(metadata.PersistenceId, stored);
            return true;
        });
    }

    /// <inheritdoc />
    /// <remarks>A metadata timestamp, when given, must match too: a newer snapshot of the same version is kept.</remarks>
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        var (minTicks, maxTicks) = metadata.Timestamp == DateTime.MinValue
            ? (0, long.MaxValue)
            : (Utc(metadata.Timestamp).Ticks, Utc(metadata.Timestamp).Ticks);
        return _database.Workers.RunAsync(store =>
        {
            store.DeleteSnapshots(metadata.PersistenceId, new SnapshotRange(metadata.SequenceNr, metadata.SequenceNr, minTicks, maxTicks));
            return true;
        });
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default) =>
        _database.Workers.RunAsync(store =>
        {
            store.DeleteSnapshots(persistenceId, RangeOf(criteria));
            return true;
        });

    private static SnapshotRange RangeOf(SnapshotSelectionCriteria criteria) => new(
        criteria.MinSequenceNr, criteria.MaxSequenceNr, criteria.MinTimestamp is { } min ? Utc(min).Ticks : 0,
        criteria.MaxTimeStamp == DateTime.MaxValue ? long.MaxValue : Utc(criteria.MaxTimeStamp).Ticks);

    /// <summary>Stored times are UTC ticks; a local time is converted, an unspecified one taken as UTC.</summary>
    private static DateTime Utc(DateTime time) => time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time;
}

/// <summary>The embedded snapshot store, in the journal's SQLite file.</summary>
public sealed class SqliteSnapshotStore(Config config) : EventSnapshotStore("sqlite", config)
{
    /// <summary>The plugin's configuration path.</summary>
    public const string PluginId = "akka.persistence.snapshot-store.eventcluster-sqlite";
}

/// <summary>The snapshot store in the PostgreSQL journal database.</summary>
public sealed class PostgresSnapshotStore(Config config) : EventSnapshotStore("postgres", config)
{
    /// <summary>The plugin's configuration path.</summary>
    public const string PluginId = "akka.persistence.snapshot-store.eventcluster-postgres";
}
