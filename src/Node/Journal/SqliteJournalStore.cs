using Microsoft.Data.Sqlite;
using EventCluster.Node.Hosting;

namespace EventCluster.Node.Journal;

/// <summary>One row of the journal table: an event of one entity, already serialized.</summary>
/// <param name="PersistenceId">The entity's persistence id.</param>
/// <param name="SequenceNr">Its version after the event.</param>
/// <param name="Message">The serialized event.</param>
/// <param name="SerializerId">The serializer that wrote <paramref name="Message"/>.</param>
/// <param name="Manifest">The serializer's manifest of the event.</param>
/// <param name="WriterUuid">The incarnation of the entity that wrote it.</param>
public sealed record JournalRow(string PersistenceId, long SequenceNr, byte[] Message, int SerializerId, string Manifest, string WriterUuid);

/// <summary>
/// The SQL of the embedded journal and snapshot store: the table layout of Akka.Persistence.Sql (so its read journal,
/// <c>eventcluster verify</c> and existing files keep working), written through one prepared
/// statement per connection instead of SQL generated for every call.
/// </summary>
/// <remarks>Not thread-safe: each connection is used by one caller at a time.</remarks>
public sealed class SqliteJournalStore : IDisposable
{
    /// <summary>
    /// The table and the one index the journal needs: the unique (persistence_id, sequence_number)
    /// key both serves replays and refuses a second writer of the same version.
    /// </summary>
    public const string Schema = """
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

    /// <summary>Which snapshots of an entity a call is about (all bounds inclusive; ticks are UTC).</summary>
    public readonly record struct SnapshotRange(long MinSequenceNr, long MaxSequenceNr, long MinTicks, long MaxTicks);

    private readonly SqliteConnection _connection;
    private SqliteCommand? _insert;
    private SqliteCommand? _replay;
    private SqliteCommand? _highest;
    private SqliteCommand? _loadSnapshot;
    private SqliteCommand? _saveSnapshot;

    private SqliteJournalStore(SqliteConnection connection) => _connection = connection;

    /// <summary>Opens a connection with the multi-process tuning and makes sure the table exists.</summary>
    public static SqliteJournalStore Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            SqliteConnectionTuning.Apply(connection);
            using var command = connection.CreateCommand();
            command.CommandText = Schema;
            command.ExecuteNonQuery();
            return new SqliteJournalStore(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes <paramref name="writes"/> in one transaction: all of them or, on any error, none
    /// (the exception says why).
    /// </summary>
    public void WriteAll(IReadOnlyList<IReadOnlyList<JournalRow>> writes)
    {
        // IMMEDIATE takes the file's write lock up front: a deferred transaction that later needs
        // it while another process holds it can only fail, not wait.
        Execute("BEGIN IMMEDIATE;");
        try
        {
            var insert = _insert ??= PrepareInsert();
            var created = DateTime.UtcNow.Ticks;
            foreach (var write in writes)
            {
                foreach (var row in write)
                {
                    insert.Parameters[0].Value = created;
                    insert.Parameters[1].Value = row.PersistenceId;
                    insert.Parameters[2].Value = row.SequenceNr;
                    insert.Parameters[3].Value = row.Message;
                    insert.Parameters[4].Value = row.Manifest;
                    insert.Parameters[5].Value = row.SerializerId;
                    insert.Parameters[6].Value = row.WriterUuid;
                    insert.ExecuteNonQuery();
                }
            }

            Execute("COMMIT;");
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

    /// <summary>
    /// The rows of <paramref name="persistenceId"/> not marked deleted, from <paramref name="from"/>
    /// to <paramref name="to"/>, at most <paramref name="max"/>, each with its creation ticks.
    /// </summary>
    public List<(JournalRow Row, long Created)> Read(string persistenceId, long from, long to, long max)
    {
        var replay = _replay ??= Prepare("""
            SELECT sequence_number, message, identifier, manifest, writer_uuid, created FROM journal
            WHERE persistence_id = $p AND sequence_number >= $from AND sequence_number <= $to AND deleted = 0
            ORDER BY sequence_number LIMIT $max
            """, "$p", "$from", "$to", "$max");
        replay.Parameters[0].Value = persistenceId;
        replay.Parameters[1].Value = from;
        replay.Parameters[2].Value = to;
        replay.Parameters[3].Value = max;
        var rows = new List<(JournalRow, long)>();
        using var reader = replay.ExecuteReader();
        while (reader.Read())
        {
            var row = new JournalRow(persistenceId, reader.GetInt64(0), (byte[])reader.GetValue(1),
                reader.IsDBNull(2) ? 0 : reader.GetInt32(2), reader.IsDBNull(3) ? "" : reader.GetString(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4));
            rows.Add((row, reader.GetInt64(5)));
        }

        return rows;
    }

    /// <summary>The highest version ever written for <paramref name="persistenceId"/>, 0 for none (deleted rows count).</summary>
    public long HighestSequenceNr(string persistenceId)
    {
        var highest = _highest ??= Prepare("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $p", "$p");
        highest.Parameters[0].Value = persistenceId;
        return highest.ExecuteScalar() is long value ? value : 0;
    }

    /// <summary>Marks the rows up to <paramref name="toSequenceNr"/> deleted; replays skip them, the highest version stays.</summary>
    public void MarkDeleted(string persistenceId, long toSequenceNr)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "UPDATE journal SET deleted = 1 WHERE persistence_id = $p AND sequence_number <= $to";
        command.Parameters.AddWithValue("$p", persistenceId);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.ExecuteNonQuery();
    }

    /// <summary>The newest snapshot of <paramref name="persistenceId"/> in <paramref name="range"/>, or null.</summary>
    public (long SequenceNr, long CreatedTicks, byte[] Data, int SerializerId, string Manifest)? LoadSnapshot(string persistenceId, SnapshotRange range)
    {
        var load = _loadSnapshot ??= Prepare("""
            SELECT sequence_number, created, snapshot, serializer_id, manifest FROM snapshot
            WHERE persistence_id = $p AND sequence_number BETWEEN $minSeq AND $maxSeq AND created BETWEEN $minTicks AND $maxTicks
            ORDER BY sequence_number DESC LIMIT 1
            """, "$p", "$minSeq", "$maxSeq", "$minTicks", "$maxTicks");
        Bind(load, persistenceId, range);
        using var reader = load.ExecuteReader();
        if (!reader.Read())
            return null;
        if (reader.IsDBNull(2))
            return null;
        return (reader.GetInt64(0), reader.GetInt64(1), (byte[])reader.GetValue(2), reader.IsDBNull(3) ? 0 : reader.GetInt32(3),
            reader.IsDBNull(4) ? "" : reader.GetString(4));
    }

    /// <summary>Stores a snapshot, replacing one of the same entity and version.</summary>
    public void SaveSnapshot(string persistenceId, long sequenceNr, long createdTicks, byte[] data, int serializerId, string manifest)
    {
        var save = _saveSnapshot ??= Prepare("""
            INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
            VALUES ($p, $seq, $created, $data, $manifest, $serializer)
            """, "$p", "$seq", "$created", "$data", "$manifest", "$serializer");
        save.Parameters[0].Value = persistenceId;
        save.Parameters[1].Value = sequenceNr;
        save.Parameters[2].Value = createdTicks;
        save.Parameters[3].Value = data;
        save.Parameters[4].Value = manifest;
        save.Parameters[5].Value = serializerId;
        save.ExecuteNonQuery();
    }

    /// <summary>Deletes the snapshots of <paramref name="persistenceId"/> in <paramref name="range"/>.</summary>
    public void DeleteSnapshots(string persistenceId, SnapshotRange range)
    {
        using var delete = _connection.CreateCommand();
        delete.CommandText = """
            DELETE FROM snapshot
            WHERE persistence_id = $p AND sequence_number BETWEEN $minSeq AND $maxSeq AND created BETWEEN $minTicks AND $maxTicks
            """;
        foreach (var name in new[] { "$p", "$minSeq", "$maxSeq", "$minTicks", "$maxTicks" })
            delete.Parameters.Add(new SqliteParameter { ParameterName = name });
        Bind(delete, persistenceId, range);
        delete.ExecuteNonQuery();
    }

    /// <summary>Closes a connection that failed so that it is not handed out again by the driver's pool.</summary>
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
        _connection.Dispose();
    }

    private SqliteCommand PrepareInsert() => Prepare("""
        INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid)
        VALUES ($created, 0, $p, $seq, $message, NULL, $manifest, $identifier, $writer)
        """, "$created", "$p", "$seq", "$message", "$manifest", "$identifier", "$writer");

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
