using System.Data.Common;

namespace EventCluster.Node.Journal;

/// <summary>What the two databases spell differently in the SQL their stores share.</summary>
/// <param name="BigInt">The type of a 64-bit integer column.</param>
/// <param name="Int">The type of a 32-bit integer column.</param>
/// <param name="Text">The type of a text column of at most so many characters.</param>
/// <param name="True">The literal true of the journal's <c>deleted</c> column.</param>
/// <param name="NotDeleted">The condition that a journal row is not marked deleted.</param>
/// <param name="Now">The clock that group leases are judged by, in Unix milliseconds: <see cref="NodeClock"/> or an expression the server evaluates.</param>
/// <param name="False">The literal false of the journal's <c>deleted</c> and <c>erased</c> columns.</param>
/// <param name="NotErased">The condition that a journal row is not erased.</param>
public sealed record SqlDialect(string BigInt, string Int, Func<int, string> Text, string True, string NotDeleted, string Now, string False, string NotErased)
{
    /// <summary>The parameter that carries the node's clock, for a database that lives on one machine.</summary>
    public const string NodeClock = "@now";

    /// <summary>SQLite, with the column types of Akka.Persistence.Sql's SQLite tables.</summary>
    public static readonly SqlDialect Sqlite = new("INTEGER", "INTEGER", length => $"NVarChar({length})", "1", "deleted = 0", NodeClock, "0", "erased = 0");

    /// <summary>PostgreSQL, whose nodes may run on several hosts: leases are judged by the server's one clock.</summary>
    public static readonly SqlDialect Postgres =
        new("bigint", "integer", _ => "text", "true", "NOT deleted", "(extract(epoch FROM clock_timestamp()) * 1000)::bigint", "false", "NOT erased");
}

/// <summary>
/// The part of a journal store that is the same on both databases: EventCluster's own tables, the
/// groups and their leases, and the statements that are not on an entity's or a reader's hot path,
/// written once with named parameters. Writes, replays, snapshots and the event log stay in each
/// store, in the form its driver runs fastest.
/// </summary>
public abstract class SqlJournalStore(DbConnection connection, SqlDialect dialect)
{
    /// <summary>
    /// EventCluster's tables beside Akka.Persistence.Sql's, created when missing: webhook
    /// subscriptions, their parked events, and groups.
    /// </summary>
    protected static string EventClusterTables(SqlDialect sql) => $"""
        CREATE TABLE IF NOT EXISTS eventcluster_webhook (
            name          {sql.Text(128)}  NOT NULL PRIMARY KEY,
            url           {sql.Text(2048)} NOT NULL,
            types         {sql.Text(8000)} NOT NULL,
            entity_prefix {sql.Text(128)}      NULL,
            secret        {sql.Text(256)}      NULL,
            max_attempts  {sql.Int}        NOT NULL,
            concurrency   {sql.Int}        NOT NULL,
            position      {sql.BigInt}     NOT NULL,
            delivered     {sql.BigInt}     NOT NULL,
            retries       {sql.BigInt}     NOT NULL,
            last_error    {sql.Text(1000)}     NULL,
            runner        {sql.Text(255)}      NULL,
            created       {sql.BigInt}     NOT NULL
        );
        CREATE TABLE IF NOT EXISTS eventcluster_webhook_parked (
            name       {sql.Text(128)}  NOT NULL,
            position   {sql.BigInt}     NOT NULL,
            entity_id  {sql.Text(128)}  NOT NULL,
            version    {sql.BigInt}     NOT NULL,
            event_id   {sql.Text(128)}  NOT NULL,
            attempts   {sql.Int}        NOT NULL,
            last_error {sql.Text(1000)} NOT NULL,
            parked_at  {sql.BigInt}     NOT NULL,
            PRIMARY KEY (name, position)
        );
        CREATE TABLE IF NOT EXISTS eventcluster_group (
            name        {sql.Text(128)} NOT NULL PRIMARY KEY,
            position    {sql.BigInt}    NOT NULL,
            member      {sql.Text(128)}     NULL,
            lease_until {sql.BigInt}    NOT NULL,
            updated     {sql.BigInt}    NOT NULL
        );
        """;

    private readonly string _createGroup = $"""
        INSERT INTO eventcluster_group (name, position, member, lease_until, updated) VALUES (@n, @start, @m, {dialect.Now} + @lease, {dialect.Now})
        ON CONFLICT (name) DO NOTHING
        """;

    private readonly string _takeGroup = $"""
        UPDATE eventcluster_group SET member = @m, lease_until = {dialect.Now} + @lease
        WHERE name = @n AND (member IS NULL OR member = @m OR lease_until < {dialect.Now})
        RETURNING position
        """;

    private readonly string _confirmGroup =
        $"UPDATE eventcluster_group SET position = @p, updated = {dialect.Now}, lease_until = {dialect.Now} + @lease WHERE name = @n AND member = @m";

    private readonly string _leaveGroup =
        $"UPDATE eventcluster_group SET position = @p, updated = {dialect.Now}, member = NULL, lease_until = 0 WHERE name = @n AND member = @m";

    private readonly string _listGroups =
        $"SELECT name, position, member IS NOT NULL AND lease_until > {dialect.Now}, updated FROM eventcluster_group ORDER BY name";

    private readonly string _markDeleted =
        $"UPDATE journal SET deleted = {dialect.True} WHERE persistence_id = @p AND sequence_number <= @to AND {dialect.NotDeleted}";

    private readonly string _countAfter = $"SELECT COUNT(*) FROM journal WHERE ordering > @p AND {dialect.NotDeleted}";

    private readonly bool _onNodeClock = dialect.Now == SqlDialect.NodeClock;

    // Every row of the entity not yet erased, deleted ones too: a deleted row still holds its data.
    private readonly string _eraseRows = $"""
        UPDATE journal SET message = @message, identifier = @identifier, manifest = @manifest, tags = NULL, event_manifest = NULL, erased = {dialect.True}
        WHERE persistence_id = @p AND {dialect.NotErased}
        """;

    // The erase notice takes the entity's next version; it is written erased, with no data.
    private readonly string _insertNotice = $"""
        INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid, event_manifest, erased)
        SELECT @created, {dialect.False}, @p, COALESCE(MAX(sequence_number), 0) + 1, @notice, NULL, @manifest, @identifier, @writer, NULL, {dialect.True}
        FROM journal WHERE persistence_id = @p
        RETURNING sequence_number, ordering
        """;

    private readonly string _eraseRow = $"""
        UPDATE journal SET message = @message, identifier = @identifier, manifest = @manifest, tags = NULL, event_manifest = NULL, erased = {dialect.True}
        WHERE ordering = @o AND {dialect.NotErased}
        """;

    /// <inheritdoc cref="IJournalStore.Connection" />
    public DbConnection Connection => connection;

    /// <inheritdoc cref="IJournalStore.MarkDeleted" />
    public void MarkDeleted(string persistenceId, long toSequenceNr)
    {
        using var command = Command(_markDeleted, ("@p", persistenceId), ("@to", toSequenceNr));
        command.ExecuteNonQuery();
    }

    /// <inheritdoc cref="IJournalStore.EraseEntity" />
    public ErasedRows EraseEntity(string persistenceId, Tombstone tombstone, Tombstone? notice)
    {
        using var transaction = BeginWrite();
        using var erase = Command(_eraseRows, ("@p", persistenceId), ("@message", tombstone.Message), ("@identifier", tombstone.SerializerId),
            ("@manifest", tombstone.Manifest));
        erase.Transaction = transaction;
        var erased = erase.ExecuteNonQuery();
        using var snapshots = Command("DELETE FROM snapshot WHERE persistence_id = @p", ("@p", persistenceId));
        snapshots.Transaction = transaction;
        snapshots.ExecuteNonQuery();
        long version = 0, position = 0;
        if (notice is not null)
        {
            using var insert = Command(_insertNotice, ("@created", DateTime.UtcNow.Ticks), ("@p", persistenceId), ("@notice", notice.Message),
                ("@manifest", notice.Manifest), ("@identifier", notice.SerializerId), ("@writer", notice.WriterUuid));
            insert.Transaction = transaction;
            using var reader = insert.ExecuteReader();
            if (reader.Read())
                (version, position) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        transaction.Commit();
        return new ErasedRows(erased, version, position);
    }

    /// <inheritdoc cref="IJournalStore.EraseEvents" />
    public int EraseEvents(IReadOnlyList<(long Position, Tombstone Tombstone)> events)
    {
        if (events.Count == 0)
            return 0;
        using var transaction = BeginWrite();
        var erased = 0;
        foreach (var (position, tombstone) in events)
        {
            using var erase = Command(_eraseRow, ("@o", position), ("@message", tombstone.Message), ("@identifier", tombstone.SerializerId),
                ("@manifest", tombstone.Manifest));
            erase.Transaction = transaction;
            erased += erase.ExecuteNonQuery();
        }

        transaction.Commit();
        return erased;
    }

    /// <summary>
    /// Begins a transaction that writes the journal, holding what every journal write holds until
    /// it commits (the file's write lock, or the commit-order advisory lock), so that an erase
    /// notice gets its position in commit order like any event.
    /// </summary>
    protected abstract DbTransaction BeginWrite();

    /// <inheritdoc cref="IJournalStore.DeleteSnapshots" />
    public void DeleteSnapshots(string persistenceId, SnapshotRange range)
    {
        using var command = Command("""
            DELETE FROM snapshot
            WHERE persistence_id = @p AND sequence_number BETWEEN @minSeq AND @maxSeq AND created BETWEEN @minTicks AND @maxTicks
            """, ("@p", persistenceId), ("@minSeq", range.MinSequenceNr), ("@maxSeq", range.MaxSequenceNr),
            ("@minTicks", range.MinTicks), ("@maxTicks", range.MaxTicks));
        command.ExecuteNonQuery();
    }

    /// <inheritdoc cref="IJournalStore.HeadPosition" />
    public long HeadPosition()
    {
        using var command = Command("SELECT COALESCE(MAX(ordering), 0) FROM journal");
        return command.ExecuteScalar() is long value ? value : 0;
    }

    /// <inheritdoc cref="IJournalStore.CountAfter" />
    public long CountAfter(long position)
    {
        using var command = Command(_countAfter, ("@p", position));
        return command.ExecuteScalar() is long value ? value : 0;
    }

    /// <inheritdoc cref="IJournalStore.JoinGroup" />
    public GroupJoin JoinGroup(string group, string member, long start, TimeSpan lease)
    {
        var leaseMilliseconds = (long)lease.TotalMilliseconds;
        using (var create = Command(_createGroup, ("@n", group), ("@start", start), ("@m", member), ("@lease", leaseMilliseconds)))
        {
            if (create.ExecuteNonQuery() == 1)
                return new GroupJoin(start, false, true);
        }

        using var take = Command(_takeGroup, ("@n", group), ("@m", member), ("@lease", leaseMilliseconds));
        return take.ExecuteScalar() is long position ? new GroupJoin(position, false, false) : new GroupJoin(0, true, false);
    }

    /// <inheritdoc cref="IJournalStore.ConfirmGroup" />
    public bool ConfirmGroup(string group, string member, long position, bool leave, TimeSpan lease)
    {
        using var command = leave
            ? Command(_leaveGroup, ("@n", group), ("@m", member), ("@p", position))
            : Command(_confirmGroup, ("@n", group), ("@m", member), ("@p", position), ("@lease", (long)lease.TotalMilliseconds));
        return command.ExecuteNonQuery() == 1;
    }

    /// <inheritdoc cref="IJournalStore.ListGroups" />
    public List<GroupRow> ListGroups()
    {
        using var command = Command(_listGroups);
        var groups = new List<GroupRow>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            groups.Add(new GroupRow(reader.GetString(0), reader.GetInt64(1), reader.GetBoolean(2), reader.GetInt64(3)));
        return groups;
    }

    private DbCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            Add(command, name, value);
        // The node's clock, read per statement as the server's would be.
        if (_onNodeClock && sql.Contains(SqlDialect.NodeClock, StringComparison.Ordinal))
            Add(command, SqlDialect.NodeClock, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return command;
    }

    private static void Add(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
