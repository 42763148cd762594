using LinqToDB;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace EventCluster.Node.Journal;

/// <summary>The journal and snapshot store every node of a cluster shares.</summary>
/// <param name="Kind">sqlite or postgres.</param>
/// <param name="ConnectionString">The ADO.NET connection string.</param>
/// <param name="ProviderName">The linq2db provider Akka.Persistence.Sql uses.</param>
/// <param name="Description">What to call the journal in messages (never includes a password).</param>
public sealed record JournalSettings(string Kind, string ConnectionString, string ProviderName, string Description)
{
    /// <summary>The embedded default.</summary>
    public const string Default = "sqlite:data/eventcluster.db";

    /// <summary>
    /// Parses <c>sqlite:PATH</c> or <c>postgres:CONNECTION-STRING</c>; throws <see cref="FormatException"/>
    /// saying what is wrong with the value (the message does not name the option it came from).
    /// </summary>
    public static JournalSettings Parse(string value)
    {
        if (value.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            var path = value["sqlite:".Length..].Trim();
            if (path.Length == 0)
                throw new FormatException("sqlite: needs a file path, for example sqlite:data/eventcluster.db");
            var fullPath = Path.GetFullPath(path);
            var builder = new SqliteConnectionStringBuilder
            {
                DataSource = fullPath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = true,
                // Several node processes share the file; the wait for its lock is bounded by
                // SqliteConnectionTuning.BusyTimeout, below the journal's call timeout.
                DefaultTimeout = 8,
            };
            return new JournalSettings("sqlite", builder.ToString(), "SQLite.MS", $"SQLite file {fullPath}");
        }

        if (value.StartsWith("postgres:", StringComparison.OrdinalIgnoreCase))
        {
            var connectionString = value["postgres:".Length..].Trim();
            NpgsqlConnectionStringBuilder builder;
            try
            {
                builder = new NpgsqlConnectionStringBuilder(connectionString);
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"postgres: connection string is malformed: {ex.Message}");
            }

            return new JournalSettings("postgres", builder.ConnectionString, "PostgreSQL.15",
                $"PostgreSQL database {builder.Database} on {builder.Host}:{builder.Port}");
        }

        throw new FormatException($"'{value}' must start with sqlite: or postgres:");
    }

    /// <summary>
    /// The settings for the node at <paramref name="endpoint"/>: on PostgreSQL its connections
    /// carry <c>eventcluster HOST:PORT</c> as their application name (unless the connection string
    /// names one), so <c>pg_stat_activity</c> shows which node holds which connection.
    /// </summary>
    public JournalSettings ForNode(string endpoint)
    {
        if (Kind != "postgres")
            return this;
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString);
        if (!string.IsNullOrEmpty(builder.ApplicationName))
            return this;
        builder.ApplicationName = $"eventcluster {endpoint}";
        return this with { ConnectionString = builder.ConnectionString };
    }

    /// <summary>
    /// Connections a node holds to PostgreSQL for Akka.Persistence.Sql's read side (journal
    /// queries such as <c>verify</c>); the journal's own are one writer plus its readers.
    /// </summary>
    public const int QueryPoolSize = 2;

    /// <summary>HOCON that points the journal, snapshot store and read journal at this database.</summary>
    public string ToHocon()
    {
        var connection = Quote(ConnectionString);
        var (plugin, snapshotPlugin, journalType, snapshotType) = Kind == "sqlite"
            ? (SqliteJournal.PluginId, SqliteSnapshotStore.PluginId, typeof(SqliteJournal), typeof(SqliteSnapshotStore))
            : (PostgresJournal.PluginId, PostgresSnapshotStore.PluginId, typeof(PostgresJournal), typeof(PostgresSnapshotStore));
        // The journal and snapshot store are EventCluster's own (group commit, positions). Their
        // tables are the ones Akka.Persistence.Sql reads, so its read journal serves journal
        // queries; it must not add indexes of its own, which would slow every insert.
        var query = Quote(QueryConnectionString);
        var provider = Quote(ProviderName);
        return $$"""
            {{plugin}} {
              class = "{{journalType.FullName}}, {{journalType.Assembly.GetName().Name}}"
              connection-string = {{connection}}
            }
            {{snapshotPlugin}} {
              class = "{{snapshotType.FullName}}, {{snapshotType.Assembly.GetName().Name}}"
              connection-string = {{connection}}
            }
            akka.persistence {
              journal {
                plugin = "{{plugin}}"
                sql { connection-string = {{query}}, provider-name = {{provider}}, auto-initialize = off, tag-write-mode = Csv }
              }
              snapshot-store.plugin = "{{snapshotPlugin}}"
              query.journal.sql {
                connection-string = {{query}}
                provider-name = {{provider}}
                write-plugin = "akka.persistence.journal.sql"
                # The journal writes tags into the CSV column of the journal table (;a;b;).
                tag-read-mode = Csv
              }
            }
            """;
    }

    /// <summary>The connection string of the read side: on PostgreSQL with its pool bounded to <see cref="QueryPoolSize"/>.</summary>
    public string QueryConnectionString => Kind == "postgres"
        ? new NpgsqlConnectionStringBuilder(ConnectionString) { MaxPoolSize = QueryPoolSize, MinPoolSize = 0 }.ConnectionString
        : ConnectionString;

    /// <summary>
    /// The linq2db options Akka.Persistence.Sql uses for every connection; SQLite connections get
    /// the multi-process tuning of <see cref="SqliteConnectionTuning"/>.
    /// </summary>
    public DataOptions ToDataOptions()
    {
        var options = new DataOptions().UseConnectionString(ProviderName, QueryConnectionString);
        return Kind == "sqlite"
            ? options.UseAfterConnectionOpened(SqliteConnectionTuning.Apply, (connection, _) =>
            {
                SqliteConnectionTuning.Apply(connection);
                return Task.CompletedTask;
            })
            : options;
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
