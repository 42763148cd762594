using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Akka.Serialization;

namespace EventCluster.Node.Journal;

/// <summary>
/// The embedded snapshot store, in the journal's SQLite file. Every entity asks it once when it
/// starts, so a load is one prepared query on a pooled connection, off the store's actor thread.
/// </summary>
public sealed class SqliteSnapshotStore : SnapshotStore
{
    /// <summary>The plugin's configuration path.</summary>
    public const string PluginId = "akka.persistence.snapshot-store.eventcluster-sqlite";

    private readonly Akka.Serialization.Serialization _serialization = Context.System.Serialization;
    private readonly SqliteStorePool _pool;

    /// <summary>Creates the snapshot store from its plugin configuration.</summary>
    public SqliteSnapshotStore(Config config)
    {
        var connectionString = config.GetString("connection-string")
                               ?? throw new ConfigurationException($"{PluginId}.connection-string is required");
        _pool = new SqliteStorePool(connectionString);
    }

    /// <summary>HOCON of the plugin for a SQLite connection string.</summary>
    public static string Hocon(string quotedConnectionString) => SqliteStorePool.PluginHocon(PluginId, typeof(SqliteSnapshotStore), quotedConnectionString);

    /// <inheritdoc />
    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default)
    {
        var serialization = _serialization;
        return _pool.RunAsync(store =>
        {
            if (store.LoadSnapshot(persistenceId, RangeOf(criteria)) is not { } found)
                return null;
            var snapshot = serialization.Deserialize(found.Data, found.SerializerId, found.Manifest);
            return new SelectedSnapshot(new SnapshotMetadata(persistenceId, found.SequenceNr, new DateTime(found.CreatedTicks, DateTimeKind.Utc)), snapshot);
        });
    }

    /// <inheritdoc />
    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken = default)
    {
        var serializer = _serialization.FindSerializerFor(snapshot);
        var data = serializer.ToBinary(snapshot);
        var manifest = Serialization.ManifestFor(serializer, snapshot);
        var created = metadata.Timestamp == DateTime.MinValue ? DateTime.UtcNow.Ticks : Utc(metadata.Timestamp).Ticks;
        return _pool.RunAsync(store =>
        {
            store.SaveSnapshot(metadata.PersistenceId, metadata.SequenceNr, created, data, serializer.Identifier, manifest);
            return true;
        });
    }

    /// <inheritdoc />
    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default) =>
        _pool.RunAsync(store =>
        {
            store.DeleteSnapshots(metadata.PersistenceId,
                new SqliteJournalStore.SnapshotRange(metadata.SequenceNr, metadata.SequenceNr, 0, long.MaxValue));
            return true;
        });

    /// <inheritdoc />
    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken = default) =>
        _pool.RunAsync(store =>
        {
            store.DeleteSnapshots(persistenceId, RangeOf(criteria));
            return true;
        });

    /// <inheritdoc />
    protected override void PostStop()
    {
        _pool.Dispose();
        base.PostStop();
    }

    private static SqliteJournalStore.SnapshotRange RangeOf(SnapshotSelectionCriteria criteria) => new(
        criteria.MinSequenceNr, criteria.MaxSequenceNr, criteria.MinTimestamp is { } min ? Utc(min).Ticks : 0,
        criteria.MaxTimeStamp == DateTime.MaxValue ? long.MaxValue : Utc(criteria.MaxTimeStamp).Ticks);

    /// <summary>Stored times are UTC ticks; a local time is converted, an unspecified one taken as UTC.</summary>
    private static DateTime Utc(DateTime time) => time.Kind == DateTimeKind.Local ? time.ToUniversalTime() : time;
}
