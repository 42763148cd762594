using Microsoft.Data.Sqlite;

namespace EventCluster.Node.Journal;

/// <summary>
/// The SQL of the embedded journal and snapshot store: the table layout of Akka.Persistence.Sql (so its read journal,
/// <c>eventcluster verify</c> and existing files keep working), written through one prepared
/// statement per connection instead of SQL generated for every call.
/// </summary>
/// <remarks>Not thread-safe: each connection is used by one caller at a time.</remarks>
public sealed class SqliteJournalStore : SqlJournalStore, IJournalStore
{
    /// <summary>
    /// Akka.Persistence.Sql's tables as it creates them on SQLite, with the one index the journal
    /// needs (the unique (persistence_id, sequence_number) key both serves replays and refuses a
    /// second writer of the same version), and EventCluster's own tables.
    /// </summary>
    public static readonly string Schema = AkkaPersistenceTables + EventClusterTables(SqlDialect.Sqlite);

    private const string AkkaPersistenceTables = """
        CREATE TABLE IF NOT EXISTS [journal]
        (
            [ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
            [created]         INTEGER        NOT NULL,
            [deleted]         Bit            NOT NULL,
            [persistence_id]  NVarChar(255)  NOT NULL,
            [sequence_number] INTEGER        NOT NULL,
            [message]         VarBinary      NOT NULL,
            [tags]            NVarChar(100)      NULL,
            [manifest]        NVarChar(500)      NULL,
            [identifier]      INTEGER            NULL,
            [writer_uuid]     NVarChar(128)      NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
        CREATE TABLE IF NOT EXISTS [snapshot]
        (
            [persistence_id]  NVarChar(255) NOT NULL,
            [sequence_number] INTEGER       NOT NULL,
            [created]         INTEGER       NOT NULL,
            [snapshot]        VarBinary         NULL,
            [manifest]        NVarChar(500)     NULL,
            [serializer_id]   INTEGER           NULL,
            CONSTRAINT [PK_snapshot] PRIMARY KEY ([persistence_id], [sequence_number])
        );
        """;

    /// <summary>SQLite's result code for a constraint violation (here: a version another writer holds).</summary>
    private const int ConstraintError = 19;

    private readonly SqliteConnection _connection;
    private SqliteCommand? _insert;
    private SqliteCommand? _replay;
    private SqliteCommand? _highest;
    private SqliteCommand? _loadSnapshot;
    private SqliteCommand? _saveSnapshot;
    private SqliteCommand? _readLog;

    private SqliteJournalStore(SqliteConnection connection) : base(connection, SqlDialect.Sqlite) => _connection = connection;

    /// <summary>Opens a connection with the multi-process tuning and makes sure the tables exist.</summary>
    public static SqliteJournalStore Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            SqliteConnectionTuning.Apply(connection);
            CreateSchema(connection);
            return new SqliteJournalStore(connection);
        }
        catch
        {
            // Not back into the pool: the connection failed in a state nobody knows.
            SqliteConnection.ClearPool(connection);
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates the tables when they are missing and adds the <c>event_manifest</c> and <c>erased</c>
    /// columns to a journal written by a release before them (SQLite has no ADD COLUMN IF NOT EXISTS).
    /// </summary>
    public static void CreateSchema(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Schema;
        command.ExecuteNonQuery();
        AddColumn(command, "event_manifest", "NVarChar(500) NULL");
        AddColumn(command, "erased", "Bit NOT NULL DEFAULT 0");
    }

    /// <summary>Adds a column to the journal of an earlier release, unless it is there.</summary>
    private static void AddColumn(SqliteCommand command, string name, string definition)
    {
        command.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('journal') WHERE name = '{name}'";
        if ((long)command.ExecuteScalar()! > 0)
            return;
        command.CommandText = $"ALTER TABLE journal ADD COLUMN [{name}] {definition}";
        try
        {
            command.ExecuteNonQuery();
        }
        catch (SqliteException ex) when (ex.Message.Contains("duplicate column", StringComparison.OrdinalIgnoreCase))
        {
            // Another node process added it first.
        }
    }

    /// <inheritdoc />
    /// <remarks>IMMEDIATE, as every journal write: the file's write lock from the first statement.</remarks>
    protected override System.Data.Common.DbTransaction BeginWrite() => _connection.BeginTransaction(deferred: false);

    /// <summary>True when <paramref name="error"/> says that a version was already written.</summary>
    public static bool IsTakenVersion(Exception error) => error is SqliteException { SqliteErrorCode: ConstraintError };

    /// <inheritdoc />
    /// <remarks>
    /// The transaction holds the file's single write lock from its first statement, so the
    /// AUTOINCREMENT <c>ordering</c> it assigns is in commit order: a reader that has seen
    /// position P never later finds a new row at or below P.
    /// </remarks>
    public long[] WriteAll(IReadOnlyList<JournalRow> rows)
    {
        var positions = new long[rows.Count];
        if (rows.Count == 0)
            return positions;
        // IMMEDIATE takes the file's write lock up front: a deferred transaction that later needs
        // it while another process holds it can only fail, not wait.
        Execute("BEGIN IMMEDIATE;");
        try
        {
            var insert = _insert ??= PrepareInsert();
            for (var i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                insert.Parameters[0].Value = row.CreatedTicks;
                insert.Parameters[1].Value = row.PersistenceId;
                insert.Parameters[2].Value = row.SequenceNr;
                insert.Parameters[3].Value = row.Message;
                insert.Parameters[4].Value = row.Manifest;
                insert.Parameters[5].Value = row.SerializerId;
                insert.Parameters[6].Value = row.WriterUuid;
                insert.Parameters[7].Value = (object?)row.Tags ?? DBNull.Value;
                insert.Parameters[8].Value = (object?)row.EventManifest ?? DBNull.Value;
                positions[i] = (long)insert.ExecuteScalar()!;
            }

            Execute("COMMIT;");
            return positions;
        }
        catch
        {
            try
            {
                Execute("ROLLBACK;");
            }
            catch (SqliteException)
            {
                // The failed statement may have ended the transaction already.
            }

            throw;
        }
    }

    /// <inheritdoc />
    public List<StoredEvent> Read(string persistenceId, long from, long to, int max)
    {
        var replay = _replay ??= Prepare($"""
            SELECT {StoredEvent.Columns} FROM journal
            WHERE persistence_id = $p AND sequence_number >= $from AND sequence_number <= $to AND deleted = 0
            ORDER BY sequence_number LIMIT $max
            """, "$p", "$from", "$to", "$max");
        replay.Parameters[0].Value = persistenceId;
        replay.Parameters[1].Value = from;
        replay.Parameters[2].Value = to;
        replay.Parameters[3].Value = max;
        var rows = new List<StoredEvent>();
        using var reader = replay.ExecuteReader();
        while (reader.Read())
            rows.Add(StoredEvent.Read(reader, persistenceId));

        return rows;
    }

    /// <inheritdoc />
    public long HighestSequenceNr(string persistenceId)
    {
        var highest = _highest ??= Prepare("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $p", "$p");
        highest.Parameters[0].Value = persistenceId;
        return highest.ExecuteScalar() is long value ? value : 0;
    }

    /// <inheritdoc />
    public StoredSnapshot? LoadSnapshot(string persistenceId, SnapshotRange range)
    {
        var load = _loadSnapshot ??= Prepare($"""
            SELECT {StoredSnapshot.Columns} FROM snapshot
            WHERE persistence_id = $p AND sequence_number BETWEEN $minSeq AND $maxSeq AND created BETWEEN $minTicks AND $maxTicks
            ORDER BY sequence_number DESC LIMIT 1
            """, "$p", "$minSeq", "$maxSeq", "$minTicks", "$maxTicks");
        Bind(load, persistenceId, range);
        using var reader = load.ExecuteReader();
        return reader.Read() ? StoredSnapshot.Read(reader) : null;
    }

    /// <inheritdoc />
    public void SaveSnapshot(string persistenceId, StoredSnapshot snapshot)
    {
        var save = _saveSnapshot ??= Prepare("""
            INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
            VALUES ($p, $seq, $created, $data, $manifest, $serializer)
            """, "$p", "$seq", "$created", "$data", "$manifest", "$serializer");
        save.Parameters[0].Value = persistenceId;
        save.Parameters[1].Value = snapshot.SequenceNr;
        save.Parameters[2].Value = snapshot.CreatedTicks;
        save.Parameters[3].Value = snapshot.Data;
        save.Parameters[4].Value = snapshot.Manifest;
        save.Parameters[5].Value = snapshot.SerializerId;
        save.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public List<LogRow> ReadLog(long after, long through, int max)
    {
        var read = _readLog ??= Prepare($"""
            SELECT {LogRow.Columns} FROM journal
            WHERE ordering > $after AND ordering <= $through AND deleted = 0
            ORDER BY ordering LIMIT $max
            """, "$after", "$through", "$max");
        read.Parameters[0].Value = after;
        read.Parameters[1].Value = through;
        read.Parameters[2].Value = max;
        var rows = new List<LogRow>(Math.Min(max, 1024));
        using var reader = read.ExecuteReader();
        while (reader.Read())
            rows.Add(LogRow.Read(reader));

        return rows;
    }

    /// <inheritdoc />
    public void Discard()
    {
        SqliteConnection.ClearPool(_connection);
        Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _loadSnapshot?.Dispose();
        _saveSnapshot?.Dispose();
        _insert?.Dispose();
        _replay?.Dispose();
        _highest?.Dispose();
        _readLog?.Dispose();
        _connection.Dispose();
    }

    private SqliteCommand PrepareInsert() => Prepare("""
        INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid, event_manifest)
        VALUES ($created, 0, $p, $seq, $message, $tags, $manifest, $identifier, $writer, $eventManifest) RETURNING ordering
        """, "$created", "$p", "$seq", "$message", "$manifest", "$identifier", "$writer", "$tags", "$eventManifest");

    private SqliteCommand Prepare(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    private static void Bind(SqliteCommand command, string persistenceId, SnapshotRange range)
    {
        command.Parameters[0].Value = persistenceId;
        command.Parameters[1].Value = range.MinSequenceNr;
        command.Parameters[2].Value = range.MaxSequenceNr;
        command.Parameters[3].Value = range.MinTicks;
        command.Parameters[4].Value = range.MaxTicks;
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
