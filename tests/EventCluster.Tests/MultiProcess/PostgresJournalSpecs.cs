using EventCluster.Node.Journal;
using EventCluster.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The deployment topology of docker-compose.yml on one machine: two seeds and a worker on a
/// real PostgreSQL server as the shared journal, at the load users run.
/// </summary>
public sealed class PostgresJournalSpecs(ITestOutputHelper output)
{
    /// <summary>Log lines that mean the journal was overrun: connection exhaustion, an open circuit breaker, recovery time-outs.</summary>
    private const string OverrunLines = "too many clients|Circuit Breaker is open|Recovery timed out|didn't get snapshot|53300";

    [SkippableFact]
    public async Task Should_apply_every_acknowledged_event_exactly_once_on_postgres_across_a_node_crash()
    {
        Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);

        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, $"postgres:{database.ConnectionString}");
        var acked = Path.Combine(cluster.ScratchPath, "postgres.jsonl");
        var load = cluster.ClientAsync("load", "--events", "6000", "--entities", "1000", "--acked", acked, "--json");
        await Poll.UntilAsync(() => File.Exists(acked) && File.ReadLines(acked).Count() >= 1000, TimeSpan.FromSeconds(60),
            "1,000 events acknowledged before the crash");

        var worker = cluster.Nodes[2];
        worker.Kill();
        var loaded = await load;

        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        Assert.Equal(6000, (int)loaded.Json["acknowledged"]!);
        await cluster.AssertVerifiedAsync(acked, 6000);
        // The events are in PostgreSQL itself: the schema was created there and holds every event once.
        var rows = Convert.ToInt64(await database.ScalarAsync(
            "SELECT count(*) FROM journal WHERE persistence_id LIKE 'entity-%' AND deleted = false"));
        Assert.Equal(6000, rows);
        Assert.All(cluster.Nodes.Take(2), node => Assert.Contains(node.Lines, line => line.Contains("journal PostgreSQL")));
    }

    [SkippableFact]
    public async Task Should_carry_the_default_load_and_a_burst_of_new_entities_within_a_bounded_number_of_connections()
    {
        Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);

        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, $"postgres:{database.ConnectionString}");
        var acked = Path.Combine(cluster.ScratchPath, "default-load.jsonl");
        var peak = new Dictionary<string, long>();
        using var stopSampling = new CancellationTokenSource();
        var sampling = SampleConnectionsAsync(database, peak, stopSampling.Token);

        // The default load: 1,000 entities, 256 in flight (the CLI's default).
        var load = await cluster.ClientAsync("load", "--events", "20000", "--entities", "1000", "--acked", acked, "--json");
        // Then 10,000 entities that have never been seen, 1,000 at a time: every one recovers at once.
        var burst = await cluster.ClientAsync("load", "--events", "10000", "--entities", "10000", "--concurrency", "1000", "--json");
        await stopSampling.CancelAsync();
        await sampling;

        output.WriteLine($"default load: {load.Json["eventsPerSecond"]} events/s, p99 {load.Json["latencyMs"]!["p99"]} ms; " +
                         $"burst of new entities: {burst.Json["eventsPerSecond"]} events/s, p99 {burst.Json["latencyMs"]!["p99"]} ms; " +
                         $"peak connections per node: {string.Join(", ", peak.Select(p => $"{p.Key}={p.Value}"))}");
        Assert.True(load.ExitCode == 0, load.ToString());
        Assert.True(burst.ExitCode == 0, burst.ToString());
        Assert.Equal(0, (int)load.Json["errors"]!);
        Assert.Equal(0, (int)burst.Json["errors"]!);
        await cluster.AssertVerifiedAsync(acked, 20000);
        Assert.All(cluster.Nodes, node => Assert.Empty(node.LinesMatching(OverrunLines)));
        // Each node: one writer, its reader threads, and the read side's small pool.
        Assert.Equal(3, peak.Count);
        Assert.All(peak.Values, connections => Assert.InRange(connections, 1, 10));
    }

    [SkippableFact]
    public async Task Should_never_let_a_reader_of_positions_skip_an_event_committed_late()
    {
        Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);

        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, $"postgres:{database.ConnectionString}");
        var acked = Path.Combine(cluster.ScratchPath, "positions.jsonl");
        var seen = new List<long>();
        using var stopReading = new CancellationTokenSource();
        var reader = ReadPositionsAsync(database, seen, stopReading.Token);

        var load = cluster.ClientAsync("load", "--events", "8000", "--entities", "300", "--acked", acked, "--json");
        await Poll.UntilAsync(() => File.Exists(acked) && File.ReadLines(acked).Count() >= 1500, TimeSpan.FromSeconds(60),
            "1,500 events acknowledged");

        // A journal write transaction that takes its time to commit, as a slow commit on a busy
        // server would: it holds a position while the three nodes go on writing.
        long held;
        await using (var slow = new NpgsqlConnection(database.ConnectionString))
        {
            await slow.OpenAsync();
            await using var transaction = await slow.BeginTransactionAsync();
            await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresJournalStore.WriteLockKey})", slow, transaction))
                await lockCommand.ExecuteNonQueryAsync();
            await using (var insert = new NpgsqlCommand("""
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
                VALUES (0, false, 'held-open', 1, '\x7b7d'::bytea, '', 0, 'spec') RETURNING ordering
                """, slow, transaction))
                held = (long)(await insert.ExecuteScalarAsync())!;
            var holdUntil = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            await Poll.UntilAsync(() => DateTime.UtcNow >= holdUntil, TimeSpan.FromSeconds(10), "the slow transaction's hold time");
            await transaction.CommitAsync();
        }

        var loaded = await load;
        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        var all = (await RowsAsync(database, "SELECT ordering FROM journal ORDER BY ordering")).ToList();
        await Poll.UntilAsync(() =>
        {
            lock (seen)
                return seen.Count > 0 && seen[^1] >= all[^1];
        }, TimeSpan.FromSeconds(30), "the reader to reach the last position");
        await stopReading.CancelAsync();
        await reader;

        List<long> read;
        lock (seen)
            read = seen.ToList();
        output.WriteLine($"{all.Count} events, held-open position {held}, reader saw {read.Count}");
        Assert.Contains(held, read);
        Assert.Equal(all, read);
        await cluster.AssertVerifiedAsync(acked, 8000);
    }

    /// <summary>Polls "position &gt; last seen" as a subscriber does, recording every position read.</summary>
    private static async Task ReadPositionsAsync(PostgresDatabase database, List<long> seen, CancellationToken stop)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync(CancellationToken.None);
        var last = 0L;
        while (!stop.IsCancellationRequested)
        {
            await using var command = new NpgsqlCommand("SELECT ordering FROM journal WHERE ordering > $1 ORDER BY ordering", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
            await using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await rows.ReadAsync(CancellationToken.None))
                {
                    last = rows.GetInt64(0);
                    lock (seen)
                        seen.Add(last);
                }
            }

            try
            {
                await Task.Delay(5, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Samples the connections each node holds (by application name) until stopped, keeping each node's peak.</summary>
    private static async Task SampleConnectionsAsync(PostgresDatabase database, Dictionary<string, long> peak, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await using var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false");
            await connection.OpenAsync(CancellationToken.None);
            await using var command = new NpgsqlCommand(
                "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'eventcluster %' GROUP BY 1",
                connection);
            await using (var rows = await command.ExecuteReaderAsync(CancellationToken.None))
            {
                while (await rows.ReadAsync(CancellationToken.None))
                    peak[rows.GetString(0)] = Math.Max(peak.GetValueOrDefault(rows.GetString(0)), rows.GetInt64(1));
            }

            try
            {
                await Task.Delay(200, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<List<long>> RowsAsync(PostgresDatabase database, string sql)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var rows = await command.ExecuteReaderAsync();
        var result = new List<long>();
        while (await rows.ReadAsync())
            result.Add(rows.GetInt64(0));
        return result;
    }
}
