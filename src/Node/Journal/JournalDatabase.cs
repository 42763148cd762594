using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Npgsql;

namespace EventCluster.Node.Journal;

/// <summary>
/// The journal database of one actor system: its writer thread and its worker threads, shared by
/// the journal, the snapshot store and the read side, so that a node holds a fixed number of
/// connections: one writer plus <c>readers</c> (the setting's name predates the workers' writes).
/// </summary>
public sealed class JournalDatabase : IDisposable
{
    private readonly Func<IJournalStore> _open;
    private readonly Lazy<JournalWriter> _writer;
    private readonly Lazy<JournalWorkers> _workers;
    private readonly object _schemaLock = new();
    private bool _schemaReady;

    private JournalDatabase(string kind, string connectionString, Config config, ILoggingAdapter log, Telemetry.NodeTracing tracing,
        Telemetry.NodeMetrics metrics)
    {
        Kind = kind;
        Func<Exception, bool> isTakenVersion;
        switch (kind)
        {
            case "sqlite":
                _open = () => SqliteJournalStore.Open(connectionString);
                isTakenVersion = SqliteJournalStore.IsTakenVersion;
                break;
            case "postgres":
                var dedicated = PostgresJournalStore.Dedicated(connectionString);
                _open = () => PostgresJournalStore.Open(dedicated, EnsurePostgresSchema);
                isTakenVersion = PostgresJournalStore.IsTakenVersion;
                break;
            default:
                throw new ConfigurationException($"unknown journal database '{kind}'");
        }

        var maxBatchSize = config.GetInt("max-batch-size", 1000);
        var workers = config.GetInt("readers", 4);
        _writer = new Lazy<JournalWriter>(() => new JournalWriter($"journal-writer-{kind}", _open, isTakenVersion, maxBatchSize,
            (error, writes) => log.Warning("Journal transaction of {0} writes hit a version already written ({1}); wrote them one by one",
                writes, error.Message), position => Committed?.Invoke(position), tracing, metrics));
        _workers = new Lazy<JournalWorkers>(() => new JournalWorkers($"journal-worker-{kind}", workers, _open));
    }

    /// <summary>sqlite or postgres.</summary>
    public string Kind { get; }

    /// <summary>Raised on the writer thread after each commit with its highest position; handlers must not block.</summary>
    public event Action<long>? Committed;

    /// <summary>Tells readers of a commit made outside the writer (an erase notice), as the writer tells its own.</summary>
    public void Announce(long position)
    {
        try
        {
            Committed?.Invoke(position);
        }
        catch (Exception)
        {
            // A notice is a hint for readers, who also poll.
        }
    }

    /// <summary>The node's one writer of events.</summary>
    public JournalWriter Writer => _writer.Value;

    /// <summary>The node's threads for all other work on the database.</summary>
    public JournalWorkers Workers => _workers.Value;

    /// <summary>
    /// The database of <paramref name="system"/> for a plugin's configuration (its
    /// <c>connection-string</c>, <c>max-batch-size</c> and <c>readers</c>): one per database and
    /// actor system, closed when the system terminates.
    /// </summary>
    public static JournalDatabase Of(ActorSystem system, string kind, Config config)
    {
        var connectionString = config.GetString("connection-string");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ConfigurationException($"the {kind} journal needs a connection-string");
        return system.WithExtension<Registry, RegistryProvider>().Get(kind, connectionString,
            () => new JournalDatabase(kind, connectionString, config, system.Log, Telemetry.NodeTracing.Of(system),
                Telemetry.NodeMetrics.Of(system)));
    }

    /// <summary>The database of the journal plugin <paramref name="system"/> is configured with.</summary>
    public static JournalDatabase OfJournal(ActorSystem system)
    {
        var config = system.Settings.Config;
        var plugin = config.GetString("akka.persistence.journal.plugin");
        var kind = plugin == PostgresJournal.PluginId ? "postgres" : plugin == SqliteJournal.PluginId ? "sqlite"
            : throw new ConfigurationException($"the journal plugin '{plugin}' is not EventCluster's");
        return Of(system, kind, config.GetConfig(plugin));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_writer.IsValueCreated)
            _writer.Value.Dispose();
        if (_workers.IsValueCreated)
            _workers.Value.Dispose();
    }

    /// <summary>Makes sure the tables exist, once per database, on the first connection opened.</summary>
    private void EnsurePostgresSchema(NpgsqlConnection connection)
    {
        if (Volatile.Read(ref _schemaReady))
            return;
        lock (_schemaLock)
        {
            if (_schemaReady)
                return;
            PostgresJournalStore.CreateSchema(connection);
            Volatile.Write(ref _schemaReady, true);
        }
    }

    /// <summary>The databases of one actor system.</summary>
    private sealed class Registry : IExtension
    {
        private readonly ConcurrentDictionary<(string, string), Lazy<JournalDatabase>> _databases = new();

        public Registry(ActorSystem system) =>
            system.RegisterOnTermination(() =>
            {
                foreach (var database in _databases.Values.Where(database => database.IsValueCreated))
                    database.Value.Dispose();
            });

        public JournalDatabase Get(string kind, string connectionString, Func<JournalDatabase> create) =>
            _databases.GetOrAdd((kind, connectionString), _ => new Lazy<JournalDatabase>(create)).Value;
    }

    private sealed class RegistryProvider : ExtensionIdProvider<Registry>
    {
        public override Registry CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
