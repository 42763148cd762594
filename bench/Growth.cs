using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace EventCluster.Bench;

/// <summary>
/// The journal-growth figures (<c>--growth</c>) on one running cluster: the durable rate and the
/// latency at half load of <c>load</c> over 1,000 entities on the fresh journal, then the journal
/// pre-filled in bulk with rows of other entities, directly in the database and not through the
/// cluster, then the same load again on the grown journal.
/// </summary>
/// <remarks>
/// The pre-filled rows look like those of earlier <c>load</c> runs: entities
/// <c>load-XXXXXXXX-N</c> of 10 events each, 1,000 entities per made-up run id, so that their keys
/// interleave with those of the measured loads in the (persistence_id, sequence_number) index as a
/// user's do. Every row carries the payload of an event the cluster wrote in the first phase, so it
/// is a valid, readable event. Rows are committed as journal writes are: on SQLite under the file's
/// write lock (the AUTOINCREMENT position is then in commit order), on PostgreSQL under the
/// journal's commit-order advisory lock, in transactions short enough that a node writing meanwhile
/// only waits.
/// </remarks>
public static class Growth
{
    public const int Entities = 1000;

    public const int EventsPerPrefilledEntity = 10;

    /// <summary>Pre-filled entities per made-up load run id.</summary>
    private const int EntitiesPerRun = 1000;

    /// <summary>Rows per pre-fill transaction: a second or two of the write lock at most.</summary>
    private const int RowsPerTransaction = 200_000;

    /// <summary>The journal advisory lock of the node (PostgresJournalStore.WriteLockKey).</summary>
    private const long WriteLockKey = 0x4543_4A4E_4C00_0001;

    /// <summary>Rows pre-filled unless --prefill-rows says otherwise.</summary>
    public static long DefaultPrefillRows(BenchPlan plan) => plan.Name switch
    {
        "smoke" => 200_000,
        "quick" => 2_000_000,
        _ => 10_000_000,
    };

    /// <summary>Events of each saturation load (the half load runs for the plan's half-load seconds).</summary>
    public static int Events(BenchPlan plan) => plan.Name switch
    {
        "smoke" => 20_000,
        "quick" => 50_000,
        _ => 100_000,
    };

    /// <summary>The growth part of a run's results.</summary>
    public static async Task<JsonObject> RunAsync(Repository repository, BenchCluster cluster, string journal, long prefillRows, int concurrency,
        BenchPlan plan, Action<string> say)
    {
        var timeout = TimeSpan.FromMinutes(30);
        var database = JournalDatabase.Of(journal);

        say($"empty journal ({await database.RowsAsync():N0} rows, {Mb(await database.BytesAsync())} MB):");
        var (empty, firstPrefix) = await MeasureAsync(repository, cluster, concurrency, plan, timeout, say);

        var template = await database.TemplateAsync($"entity-{firstPrefix}0");
        say($"pre-filling {prefillRows:N0} rows ({(prefillRows + EventsPerPrefilledEntity - 1) / EventsPerPrefilledEntity:N0} entities × " +
            $"{EventsPerPrefilledEntity} events, {template.Message.Length} bytes of message each) directly in the database...");
        var rowsBefore = await database.RowsAsync();
        var clock = Stopwatch.StartNew();
        await database.PrefillAsync(template, prefillRows, (done, elapsed) =>
            say($"  {done:N0} rows ({done / Math.Max(elapsed.TotalSeconds, 0.001):N0} rows/s)"));
        var fillSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var upkeep = await database.UpkeepAsync();
        var upkeepSeconds = clock.Elapsed.TotalSeconds;
        var rowsAfter = await database.RowsAsync();
        var bytes = await database.BytesAsync();
        if (rowsAfter - rowsBefore != prefillRows)
            throw new InvalidOperationException($"pre-fill wrote {rowsAfter - rowsBefore:N0} rows, not {prefillRows:N0}");
        say($"pre-filled {prefillRows:N0} rows in {fillSeconds:0.0} s ({prefillRows / fillSeconds:N0} rows/s), then {upkeep} in {upkeepSeconds:0.0} s; " +
            $"journal {rowsAfter:N0} rows, {Mb(bytes)} MB");
        // Each node's event-log reader follows every committed row (EventLogActor's tail), so it now
        // reads the new rows too. Rows written over months were read as they came: measuring while
        // three nodes read millions of rows at once would measure the bulk load, not the size.
        clock.Restart();
        await WaitUntilNodesIdleAsync(cluster, TimeSpan.FromMinutes(20));
        var catchUpSeconds = clock.Elapsed.TotalSeconds;
        say($"nodes idle again after {catchUpSeconds:0.0} s (their event-log readers read the new rows)");

        say("grown journal:");
        var statsBefore = await database.MaintenanceAsync();
        var (grown, _) = await MeasureAsync(repository, cluster, concurrency, plan, timeout, say);
        var statsAfter = await database.MaintenanceAsync();

        var ratio = (double)grown["eventsPerSecond"]! / (double)empty["eventsPerSecond"]!;
        say($"grown ÷ empty durable rate: {ratio:0.00}");
        return new JsonObject
        {
            ["entities"] = Entities,
            ["events"] = Events(plan),
            ["clientConcurrency"] = concurrency,
            ["empty"] = empty,
            ["prefill"] = new JsonObject
            {
                ["rows"] = prefillRows,
                ["entities"] = (prefillRows + EventsPerPrefilledEntity - 1) / EventsPerPrefilledEntity,
                ["messageBytes"] = template.Message.Length,
                ["seconds"] = Math.Round(fillSeconds, 1),
                ["rowsPerSecond"] = Math.Round(prefillRows / fillSeconds),
                ["upkeep"] = upkeep,
                ["upkeepSeconds"] = Math.Round(upkeepSeconds, 1),
                ["nodesIdleAfterSeconds"] = Math.Round(catchUpSeconds, 1),
                ["journalRows"] = rowsAfter,
                ["journalMb"] = Mb(bytes),
            },
            ["grown"] = grown,
            ["grownToEmpty"] = Math.Round(ratio, 3),
            ["maintenanceDuringGrownRun"] = statsBefore is null || statsAfter is null ? null : new JsonObject
            {
                ["before"] = statsBefore,
                ["after"] = statsAfter,
            },
        };
    }

    /// <summary>The table of a growth run (<c>--growth</c>), each figure beside its target.</summary>
    public static ResultTable Table(JsonObject r)
    {
        var m = r["machine"]!;
        var g = r["growth"]!;
        var prefill = g["prefill"]!;
        var (empty, grown) = (g["empty"]!, g["grown"]!);
        var size = (bool)r["smoke"]! ? "smoke" : (bool)r["quick"]! ? "quick" : "full";
        var commit = (string)r["commit"]!;
        var title = string.Create(CultureInfo.InvariantCulture, $"EventCluster journal-growth benchmark, {size} run of {r["date"]} (commit {commit[..Math.Min(12, commit.Length)]}), " +
                      $"{m["cores"]} cores, {D(m["memoryMb"]):N0} MiB, {m["cpu"]}, {m["dotnet"]}; 3 local node processes and the client on this one machine, " +
                      $"{r["journal"]} journal, load of {D(g["events"]):N0} events over {D(g["entities"]):N0} entities ({D(g["clientConcurrency"]):N0} in flight).");
        string Rate(JsonNode phase) => I($"{D(phase["eventsPerSecond"]):N0} events/s ({string.Join(", ", phase["rounds"]!.AsArray().Select(x => D(x).ToString("N0", CultureInfo.InvariantCulture)))})");
        string Half(JsonNode phase) => string.Create(CultureInfo.InvariantCulture, $"{D(phase["halfLoad"]!["latencyMs"]!["p50"]):0.0} / {D(phase["halfLoad"]!["latencyMs"]!["p95"]):0.0} / {D(phase["halfLoad"]!["latencyMs"]!["p99"]):0.0} ms " +
                                         $"({D(phase["halfLoad"]!["eventsPerSecond"]):N0} of {D(phase["halfLoad"]!["offeredPerSecond"]):N0}/s offered)");
        var ratio = D(g["grownToEmpty"]);
        var rows = new List<(string, string, string, string)>
        {
            (I($"Pre-fill, directly in the database: {D(prefill["rows"]):N0} rows of {D(prefill["entities"]):N0} other entities"),
                I($"{D(prefill["seconds"]):0.0} s ({D(prefill["rowsPerSecond"]):N0} rows/s), then {prefill["upkeep"]} {D(prefill["upkeepSeconds"]):0.0} s; journal {D(prefill["journalRows"]):N0} rows, {D(prefill["journalMb"]):N0} MB"), "", ""),
            ("Nodes idle again after the pre-fill (each node's event-log reader reads the new rows)", I($"{D(prefill["nodesIdleAfterSeconds"]):0.0} s"), "", ""),
            ("Durable events, empty journal (median of rounds)", Rate(empty), "", ""),
            ("Durable events, grown journal (median of rounds)", Rate(grown), "", ""),
            ("Grown ÷ empty durable rate", I($"{ratio:0.00}"), "≥ 0.8", ratio >= 0.8 ? "met" : "**missed**"),
            ("Latency at half load p50 / p95 / p99, empty journal", Half(empty), "", ""),
            ("Latency at half load p50 / p95 / p99, grown journal", Half(grown), "", ""),
        };
        return new ResultTable(title, rows);
    }

    /// <summary>Saturation rounds (their median rate), then half of that rate for the plan's half-load seconds; and the first round's entity prefix.</summary>
    private static async Task<(JsonObject Figures, string FirstPrefix)> MeasureAsync(Repository repository, BenchCluster cluster, int concurrency,
        BenchPlan plan, TimeSpan timeout, Action<string> say)
    {
        var events = Events(plan);
        var rates = new List<double>();
        var latencies = new JsonArray();
        string? firstPrefix = null;
        for (var round = 1; round <= plan.Rounds; round++)
        {
            var summary = await repository.ClientJsonAsync(cluster.Seeds, timeout, "load", "--entities", Entities.ToString(), "--concurrency",
                concurrency.ToString(), "--events", events.ToString());
            firstPrefix ??= (string)summary["entityPrefix"]!;
            rates.Add((double)summary["eventsPerSecond"]!);
            latencies.Add(summary["latencyMs"]!.DeepClone());
            say($"  durable round {round}: {rates[^1]:N0} events/s, p50 {(double)summary["latencyMs"]!["p50"]!:0.0} ms, p99 {(double)summary["latencyMs"]!["p99"]!:0.0} ms");
        }

        var sorted = rates.Order().ToArray();
        var rate = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        var halfRate = (long)(rate / 2);
        var half = await repository.ClientJsonAsync(cluster.Seeds, timeout, "load", "--entities", Entities.ToString(), "--concurrency",
            concurrency.ToString(), "--events", (halfRate * plan.HalfLoadSeconds).ToString(), "--rate", halfRate.ToString());
        say($"  half load ({halfRate:N0}/s for {plan.HalfLoadSeconds} s): p50 {(double)half["latencyMs"]!["p50"]!:0.0} ms, " +
            $"p95 {(double)half["latencyMs"]!["p95"]!:0.0} ms, p99 {(double)half["latencyMs"]!["p99"]!:0.0} ms");
        var figures = new JsonObject
        {
            ["eventsPerSecond"] = Math.Round(rate),
            ["rounds"] = new JsonArray(rates.Select(r => (JsonNode)Math.Round(r)).ToArray()),
            ["roundLatencyMs"] = latencies,
            ["halfLoad"] = new JsonObject
            {
                ["offeredPerSecond"] = halfRate,
                ["eventsPerSecond"] = half["eventsPerSecond"]!.DeepClone(),
                ["seconds"] = half["seconds"]!.DeepClone(),
                ["latencyMs"] = half["latencyMs"]!.DeepClone(),
            },
        };
        return (figures, firstPrefix!);
    }

    /// <summary>Below this share of one core, summed over the three nodes, for <see cref="IdleSeconds"/> seconds in a row, the cluster is idle.</summary>
    private const double IdleCores = 0.25;

    private const int IdleSeconds = 3;

    /// <summary>Waits until the node processes have used less than <see cref="IdleCores"/> of a core for <see cref="IdleSeconds"/> seconds in a row.</summary>
    private static async Task WaitUntilNodesIdleAsync(BenchCluster cluster, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        var quiet = 0;
        var last = CpuSeconds(cluster);
        while (quiet < IdleSeconds)
        {
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"the nodes were still busy {timeout.TotalMinutes:0} minutes after the pre-fill");
            await Task.Delay(1000);
            var now = CpuSeconds(cluster);
            quiet = now - last < IdleCores ? quiet + 1 : 0;
            last = now;
        }
    }

    /// <summary>User and system CPU seconds of the node processes so far (Linux).</summary>
    private static double CpuSeconds(BenchCluster cluster)
    {
        var ticks = 0L;
        for (var i = 0; i < BenchCluster.Nodes; i++)
        {
            if (cluster.ProcessId(i) is not { } pid)
                throw new InvalidOperationException($"node on port {cluster.Ports[i]} is not running");
            // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }

        // Linux reports them in clock ticks of 1/100 s (USER_HZ) on every platform .NET runs on.
        return ticks / 100.0;
    }

    private static long Mb(long bytes) => (bytes + (1 << 19)) >> 20;

    private static string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double D(JsonNode? value) => double.Parse(value!.ToJsonString(), CultureInfo.InvariantCulture);

    /// <summary>The columns an event row carries besides its key: copied from one the cluster wrote.</summary>
    private sealed record Template(byte[] Message, string? Manifest, int? Identifier, string? WriterUuid, string? Tags, string? EventManifest);

    /// <summary>The journal database the nodes use, reached directly.</summary>
    private abstract class JournalDatabase
    {
        public static JournalDatabase Of(string journal) => journal.StartsWith("sqlite:", StringComparison.Ordinal)
            ? new Sqlite(journal["sqlite:".Length..])
            : new Postgres(journal["postgres:".Length..]);

        public abstract Task<long> RowsAsync();

        public abstract Task<long> BytesAsync();

        public abstract Task<Template> TemplateAsync(string persistenceId);

        public abstract Task PrefillAsync(Template template, long rows, Action<long, TimeSpan> progress);

        /// <summary>What a long-lived database has had done to it by now; returns what was done.</summary>
        public abstract Task<string> UpkeepAsync();

        /// <summary>The server's own maintenance of the journal table so far, or null where there is none.</summary>
        public abstract Task<JsonObject?> MaintenanceAsync();

        // The scrambled, distinct 8-hex-digit run id of made-up run g: (g × 2654435761) mod 2^32.
        protected const long Scramble = 2654435761;
    }

    private sealed class Sqlite(string path) : JournalDatabase
    {
        private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();

        public override async Task<long> RowsAsync() => (long)(await ScalarAsync("SELECT COUNT(*) FROM journal"))!;

        public override Task<long> BytesAsync() => Task.FromResult(new[] { path, path + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length));

        public override async Task<Template> TemplateAsync(string persistenceId)
        {
            await using var connection = await OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT message, manifest, identifier, writer_uuid, tags, event_manifest FROM journal
                WHERE persistence_id = $p ORDER BY sequence_number LIMIT 1
                """;
            command.Parameters.AddWithValue("$p", persistenceId);
            await using var reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
                throw new InvalidOperationException($"no event of {persistenceId} in the journal to copy");
            return new Template((byte[])reader[0], Text(reader, 1), reader.IsDBNull(2) ? null : reader.GetInt32(2), Text(reader, 3), Text(reader, 4), Text(reader, 5));
        }

        public override async Task PrefillAsync(Template template, long rows, Action<long, TimeSpan> progress)
        {
            await using var connection = await OpenAsync();
            await using var command = connection.CreateCommand();
            // Row i is event i % 10 + 1 of entity e = i / 10, entity e % 1000 of made-up run e / 1000.
            command.CommandText = $"""
                WITH RECURSIVE n(i) AS (SELECT $from UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $to)
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid, event_manifest)
                SELECT $created, 0,
                       'entity-load-' || printf('%08x', ((i / {EventsPerPrefilledEntity} / {EntitiesPerRun}) * {Scramble}) % 4294967296) || '-' || (i / {EventsPerPrefilledEntity} % {EntitiesPerRun}),
                       i % {EventsPerPrefilledEntity} + 1, $message, $tags, $manifest, $identifier, $writer, $eventManifest
                FROM n
                """;
            command.Parameters.AddWithValue("$from", 0L);
            command.Parameters.AddWithValue("$to", 0L);
            command.Parameters.AddWithValue("$created", DateTime.UtcNow.Ticks);
            command.Parameters.AddWithValue("$message", template.Message);
            command.Parameters.AddWithValue("$tags", (object?)template.Tags ?? DBNull.Value);
            command.Parameters.AddWithValue("$manifest", (object?)template.Manifest ?? DBNull.Value);
            command.Parameters.AddWithValue("$identifier", (object?)template.Identifier ?? DBNull.Value);
            command.Parameters.AddWithValue("$writer", (object?)template.WriterUuid ?? DBNull.Value);
            command.Parameters.AddWithValue("$eventManifest", (object?)template.EventManifest ?? DBNull.Value);
            var clock = Stopwatch.StartNew();
            for (long from = 0; from < rows; from += RowsPerTransaction)
            {
                // IMMEDIATE, as the nodes' writes: the file's write lock from the start, so positions follow commit order.
                await using (var transaction = connection.BeginTransaction(deferred: false))
                {
                    command.Transaction = transaction;
                    command.Parameters["$from"].Value = from;
                    command.Parameters["$to"].Value = Math.Min(rows, from + RowsPerTransaction);
                    await command.ExecuteNonQueryAsync();
                    await transaction.CommitAsync();
                }

                if ((from / RowsPerTransaction) % 10 == 9 || from + RowsPerTransaction >= rows)
                    progress(Math.Min(rows, from + RowsPerTransaction), clock.Elapsed);
            }
        }

        // SQLite runs no maintenance of its own: a user's file has only had its WAL checkpointed (the nodes do that as they write).
        public override async Task<string> UpkeepAsync()
        {
            await ScalarAsync("PRAGMA wal_checkpoint(TRUNCATE)");
            return "WAL checkpoint";
        }

        public override Task<JsonObject?> MaintenanceAsync() => Task.FromResult<JsonObject?>(null);

        private static string? Text(SqliteDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

        private async Task<SqliteConnection> OpenAsync()
        {
            var connection = new SqliteConnection(_connectionString);
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            // As the nodes' connections; the wait for the write lock covers a node's group commit.
            command.CommandText = "PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";
            await command.ExecuteNonQueryAsync();
            return connection;
        }

        private async Task<object?> ScalarAsync(string sql)
        {
            await using var connection = await OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return await command.ExecuteScalarAsync();
        }
    }

    private sealed class Postgres(string connectionString) : JournalDatabase
    {
        private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, CommandTimeout = 600 }.ConnectionString;

        public override async Task<long> RowsAsync() => (long)(await ScalarAsync("SELECT COUNT(*) FROM journal"))!;

        public override async Task<long> BytesAsync() => (long)(await ScalarAsync("SELECT pg_total_relation_size('journal')"))!;

        public override async Task<Template> TemplateAsync(string persistenceId)
        {
            await using var connection = await OpenAsync();
            await using var command = new NpgsqlCommand("""
                SELECT message, manifest, identifier, writer_uuid, tags, event_manifest FROM journal
                WHERE persistence_id = $1 ORDER BY sequence_number LIMIT 1
                """, connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = persistenceId });
            await using var reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
                throw new InvalidOperationException($"no event of {persistenceId} in the journal to copy");
            string? Text(int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
            return new Template((byte[])reader[0], Text(1), reader.IsDBNull(2) ? null : reader.GetInt32(2), Text(3), Text(4), Text(5));
        }

        public override async Task PrefillAsync(Template template, long rows, Action<long, TimeSpan> progress)
        {
            await using var connection = await OpenAsync();
            var clock = Stopwatch.StartNew();
            for (long from = 0; from < rows; from += RowsPerTransaction)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                await using var batch = new NpgsqlBatch(connection, transaction);
                // The commit-order lock every journal write holds: positions are drawn after the previous commit is visible.
                var lockCommand = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)");
                lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = WriteLockKey });
                batch.BatchCommands.Add(lockCommand);
                var insert = new NpgsqlBatchCommand($"""
                    INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, tags, manifest, identifier, writer_uuid, event_manifest)
                    SELECT $1, false,
                           'entity-load-' || lpad(to_hex((((i / {EventsPerPrefilledEntity} / {EntitiesPerRun}) * {Scramble}) % 4294967296)::bigint), 8, '0') || '-' || (i / {EventsPerPrefilledEntity} % {EntitiesPerRun}),
                           i % {EventsPerPrefilledEntity} + 1, $2, $3, $4, $5, $6, $7
                    FROM generate_series($8::bigint, $9::bigint - 1) AS i
                    ORDER BY i
                    """);
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTime.UtcNow.Ticks });
                insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = template.Message });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)template.Tags ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)template.Manifest ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)template.Identifier ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)template.WriterUuid ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)template.EventManifest ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = from });
                insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = Math.Min(rows, from + RowsPerTransaction) });
                batch.BatchCommands.Add(insert);
                await batch.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
                if ((from / RowsPerTransaction) % 10 == 9 || from + RowsPerTransaction >= rows)
                    progress(Math.Min(rows, from + RowsPerTransaction), clock.Elapsed);
            }
        }

        // Autovacuum would have vacuumed and analysed a long-lived table, and the checkpointer written its pages out, by now.
        public override async Task<string> UpkeepAsync()
        {
            await ScalarAsync("VACUUM (ANALYZE) journal");
            try
            {
                await ScalarAsync("CHECKPOINT");
                return "VACUUM (ANALYZE) and CHECKPOINT";
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                return "VACUUM (ANALYZE) (CHECKPOINT not permitted)";
            }
        }

        public override async Task<JsonObject?> MaintenanceAsync()
        {
            await using var connection = await OpenAsync();
            await using var command = new NpgsqlCommand("""
                SELECT autovacuum_count, autoanalyze_count, n_ins_since_vacuum, n_mod_since_analyze,
                       (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter)
                FROM pg_stat_user_tables WHERE relid = 'journal'::regclass
                """, connection);
            await using var reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
                return null;
            return new JsonObject
            {
                ["autovacuums"] = reader.GetInt64(0),
                ["autoanalyzes"] = reader.GetInt64(1),
                ["insertedSinceVacuum"] = reader.GetInt64(2),
                ["modifiedSinceAnalyze"] = reader.GetInt64(3),
                ["serverCheckpoints"] = reader.GetInt64(4),
            };
        }

        private async Task<NpgsqlConnection> OpenAsync()
        {
            var connection = new NpgsqlConnection(_connectionString);
            await connection.OpenAsync();
            return connection;
        }

        private async Task<object?> ScalarAsync(string sql)
        {
            await using var connection = await OpenAsync();
            await using var command = new NpgsqlCommand(sql, connection);
            return await command.ExecuteScalarAsync();
        }
    }
}
