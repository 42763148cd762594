using Npgsql;
using NpgsqlTypes;

namespace EventCluster.Node.Journal;

/// <summary>
/// The SQL of the PostgreSQL journal and snapshot store on one connection. The tables are
/// Akka.Persistence.Sql's, column for column, so databases written by earlier releases open,
/// replay and take new events.
/// </summary>
/// <remarks>
/// <para>Positions are the <c>ordering</c> identity column. A sequence hands out numbers before
/// commit, so on its own a transaction holding N could become visible after N+1. Every write
/// transaction therefore takes one transaction-level advisory lock before it inserts and keeps it
/// until it has committed: transactions that insert journal rows commit one after another, each
/// draws its numbers after the previous one is visible, and a reader that has seen position P
/// never later finds a new row at or below P. Numbers of a transaction that rolled back stay
/// unused (holes), never filled later.</para>
/// <para>Not thread-safe: each connection is used by one thread at a time.</para>
/// </remarks>
public sealed class PostgresJournalStore : SqlJournalStore, IJournalStore
{
    /// <summary>The advisory lock every journal write transaction holds until it commits.</summary>
    public const long WriteLockKey = 0x4543_4A4E_4C00_0001;

    /// <summary>
    /// The advisory lock that <see cref="Schema"/> runs under. Nodes that start together would
    /// race on CREATE ... IF NOT EXISTS, which PostgreSQL does not make safe against a concurrent
    /// creation of the same table (the loser fails on a catalog key). Like
    /// <see cref="WriteLockKey"/> it starts with "ECJNL" in ASCII, so that it is unlikely to be
    /// another application's key in the same database.
    /// </summary>
    public const long SchemaLockKey = 0x4543_4A4E_4C00_0002;

    /// <summary>
    /// Akka.Persistence.Sql's tables, created when missing, plus the <c>event_manifest</c> column
    /// added to a journal of an earlier release, and EventCluster's own tables, in one transaction
    /// under <see cref="SchemaLockKey"/>. Of Akka.Persistence.Sql's indexes only the keys are
    /// created: the unique (persistence_id, sequence_number) key serves replays and refuses a
    /// second writer of a version, the primary key serves reads by position; its indexes on
    /// <c>created</c> and <c>sequence_number</c> alone serve no query of EventCluster's and would
    /// cost every insert (a database of an earlier release keeps them).
    /// </summary>
    public static readonly string Schema = $"""
        BEGIN;
        SELECT pg_advisory_xact_lock({SchemaLockKey});
        {AkkaPersistenceTables}
        {EventClusterTables(SqlDialect.Postgres)}
        COMMIT;
        """;

    private const string AkkaPersistenceTables = """
        CREATE TABLE IF NOT EXISTS journal (
            ordering        bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
            created         bigint  NOT NULL,
            deleted         boolean NOT NULL,
            persistence_id  text    NOT NULL,
            sequence_number bigint  NOT NULL,
            message         bytea   NOT NULL,
            tags            text        NULL,
            manifest        text        NULL,
            identifier      integer     NULL,
            writer_uuid     text        NULL,
            CONSTRAINT "PK_journal" PRIMARY KEY (ordering),
            CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number)
        );
        CREATE TABLE IF NOT EXISTS snapshot (
            persistence_id  text   NOT NULL,
            sequence_number bigint NOT NULL,
            created         bigint NOT NULL,
            snapshot        bytea      NULL,
            manifest        text       NULL,
            serializer_id   integer    NULL,
            CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number)
        );
        ALTER TABLE journal ADD COLUMN IF NOT EXISTS event_manifest text NULL;
        ALTER TABLE journal ADD COLUMN IF NOT EXISTS erased boolean NOT NULL DEFAULT false;
        """;

    /// <summary>
    /// Limits on every journal connection. A node paused, partitioned or stuck between its insert
    /// and its commit would keep the commit-order lock and stall every writer of the cluster: the
    /// server ends such a transaction after 3 s idle (its events were never acknowledged), and a
    /// writer gives up waiting for the lock after 5 s. Lock wait plus the 10 s command time-out
    /// stay below the circuit breaker's 20 s call time-out, so a write the breaker gave up on has
    /// really ended.
    /// </summary>
    private const string SessionSettings = "SET idle_in_transaction_session_timeout = '3s'; SET lock_timeout = '5s';";

    private const string InsertSql = """
        INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid, event_manifest)
        SELECT u.created, false, u.pid, u.seq, u.message, u.tags, u.manifest, u.identifier, u.writer, u.event_manifest
        FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::text[], $6::text[], $7::integer[], $8::text[], $9::text[])
             WITH ORDINALITY AS u(created, pid, seq, message, tags, manifest, identifier, writer, event_manifest, n)
        ORDER BY u.n
        RETURNING persistence_id, sequence_number, ordering
        """;

    private readonly NpgsqlConnection _connection;

    private PostgresJournalStore(NpgsqlConnection connection) : base(connection, SqlDialect.Postgres) => _connection = connection;

    /// <summary>Opens a dedicated connection (outside the driver's pool), running <paramref name="prepare"/> on it first.</summary>
    public static PostgresJournalStore Open(string connectionString, Action<NpgsqlConnection>? prepare = null)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            connection.Open();
            prepare?.Invoke(connection);
            using (var settings = new NpgsqlCommand(SessionSettings, connection))
                settings.ExecuteNonQuery();
            return new PostgresJournalStore(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The connection string for dedicated journal connections: the user's, outside the driver's
    /// pool, and (unless the user chose otherwise) with a command time-out of 10 s instead of 30 s,
    /// in line with the circuit breaker's call time-out, and TCP keep-alives on, so that a server
    /// that vanished without closing its connections is noticed.
    /// </summary>
    public static string Dedicated(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, TcpKeepAlive = true };
        if (builder.CommandTimeout == new NpgsqlConnectionStringBuilder().CommandTimeout)
            builder.CommandTimeout = 10;
        return builder.ConnectionString;
    }

    /// <summary>
    /// Creates the tables (and the <c>event_manifest</c> column) when they are missing. A database
    /// that has them all is only read: DDL would lock the journal table against every writer, and
    /// needs rights a node's database user may not have once the tables exist.
    /// </summary>
    public static void CreateSchema(NpgsqlConnection connection)
    {
        using (var check = new NpgsqlCommand(SchemaComplete, connection))
        {
            if (check.ExecuteScalar() is true)
                return;
        }

        using var command = new NpgsqlCommand(Schema, connection);
        command.ExecuteNonQuery();
    }

    // True when the journal's event_manifest and erased columns and the snapshot, eventcluster_group and
    // eventcluster_webhook_parked tables exist in the connection's schema (eventcluster_webhook is
    // created in the same transaction as eventcluster_webhook_parked).
    private const string SchemaComplete = """
        SELECT to_regclass('snapshot') IS NOT NULL AND to_regclass('eventcluster_group') IS NOT NULL
            AND to_regclass('eventcluster_webhook_parked') IS NOT NULL AND EXISTS (
            SELECT 1 FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'journal' AND column_name = 'event_manifest') AND EXISTS (
            SELECT 1 FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'journal' AND column_name = 'erased')
        """;

    /// <summary>True when <paramref name="error"/> says that a version was already written.</summary>
    public static bool IsTakenVersion(Exception error) => error is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    /// <inheritdoc />
    public long[] WriteAll(IReadOnlyList<JournalRow> rows)
    {
        var positions = new long[rows.Count];
        if (rows.Count == 0)
            return positions;
        var count = rows.Count;
        var created = new long[count];
        var ids = new string[count];
        var seqs = new long[count];
        var messages = new byte[count][];
        var tags = new string?[count];
        var manifests = new string[count];
        var identifiers = new int[count];
        var writers = new string[count];
        var eventManifests = new string?[count];
        for (var i = 0; i < count; i++)
        {
            var row = rows[i];
            (created[i], ids[i], seqs[i], messages[i], tags[i]) = (row.CreatedTicks, row.PersistenceId, row.SequenceNr, row.Message, row.Tags);
            (manifests[i], identifiers[i], writers[i], eventManifests[i]) = (row.Manifest, row.SerializerId, row.WriterUuid, row.EventManifest);
        }

        using var transaction = _connection.BeginTransaction();
        using var batch = new NpgsqlBatch(_connection, transaction);
        var lockCommand = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)");
        lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = WriteLockKey });
        batch.BatchCommands.Add(lockCommand);
        var insert = new NpgsqlBatchCommand(InsertSql);
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = created });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = ids });
        insert.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = seqs });
        insert.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = messages, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        insert.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = tags, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = manifests });
        insert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = identifiers });
        insert.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = writers });
        insert.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = eventManifests, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        batch.BatchCommands.Add(insert);

        var byKey = new Dictionary<(string, long), long>(count);
        using (var reader = batch.ExecuteReader())
        {
            reader.NextResult();
            while (reader.Read())
                byKey[(reader.GetString(0), reader.GetInt64(1))] = reader.GetInt64(2);
        }

        transaction.Commit();
        for (var i = 0; i < count; i++)
            positions[i] = byKey[(ids[i], seqs[i])];
        return positions;
    }

    /// <inheritdoc />
    public List<StoredEvent> Read(string persistenceId, long from, long to, int max)
    {
        using var command = new NpgsqlCommand($"""
            SELECT {StoredEvent.Columns} FROM journal
            WHERE persistence_id = $1 AND sequence_number >= $2 AND sequence_number <= $3 AND NOT deleted
            ORDER BY sequence_number LIMIT $4
            """, _connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = to });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        var rows = new List<StoredEvent>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            rows.Add(StoredEvent.Read(reader, persistenceId));

        return rows;
    }

    /// <inheritdoc />
    public long HighestSequenceNr(string persistenceId)
    {
        using var command = new NpgsqlCommand("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $1", _connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        return command.ExecuteScalar() is long value ? value : 0;
    }

    /// <inheritdoc />
    public StoredSnapshot? LoadSnapshot(string persistenceId, SnapshotRange range)
    {
        using var command = RangeCommand($"""
            SELECT {StoredSnapshot.Columns} FROM snapshot
            WHERE persistence_id = $1 AND sequence_number BETWEEN $2 AND $3 AND created BETWEEN $4 AND $5
            ORDER BY sequence_number DESC LIMIT 1
            """, persistenceId, range);
        using var reader = command.ExecuteReader();
        return reader.Read() ? StoredSnapshot.Read(reader) : null;
    }

    /// <inheritdoc />
    public void SaveSnapshot(string persistenceId, StoredSnapshot snapshot)
    {
        using var command = new NpgsqlCommand("""
            INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (persistence_id, sequence_number) DO UPDATE
            SET created = EXCLUDED.created, snapshot = EXCLUDED.snapshot, manifest = EXCLUDED.manifest, serializer_id = EXCLUDED.serializer_id
            """, _connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.SequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = snapshot.CreatedTicks });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = snapshot.Data });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.Manifest });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = snapshot.SerializerId });
        command.ExecuteNonQuery();
    }

    /// <inheritdoc />
    public List<LogRow> ReadLog(long after, long through, int max)
    {
        using var command = new NpgsqlCommand($"""
            SELECT {LogRow.Columns} FROM journal
            WHERE ordering > $1 AND ordering <= $2 AND NOT deleted
            ORDER BY ordering LIMIT $3
            """, _connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = through });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        var rows = new List<LogRow>(Math.Min(max, 1024));
        using var reader = command.ExecuteReader();
        while (reader.Read())
            rows.Add(LogRow.Read(reader));

        return rows;
    }

    /// <inheritdoc />
    /// <remarks>Under the commit-order lock, as every journal write (see the class remarks).</remarks>
    protected override System.Data.Common.DbTransaction BeginWrite()
    {
        var transaction = _connection.BeginTransaction();
        using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", _connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = WriteLockKey });
        command.ExecuteNonQuery();
        return transaction;
    }

    /// <inheritdoc />
    public void Discard() => Dispose();

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();

    private NpgsqlCommand RangeCommand(string sql, string persistenceId, SnapshotRange range)
    {
        var command = new NpgsqlCommand(sql, _connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = range.MinSequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = range.MaxSequenceNr });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = range.MinTicks });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = range.MaxTicks });
        return command;
    }
}
