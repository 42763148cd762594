using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The deployment topology of docker-compose.yml on one machine: two seeds and a worker on a
/// real PostgreSQL server as the shared journal, with a node crash in the middle of a load.
/// </summary>
public sealed class PostgresJournalSpecs(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Should_apply_every_acknowledged_event_exactly_once_on_postgres_across_a_node_crash()
    {
        Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);

        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(3, $"postgres:{database.ConnectionString}");
        var acked = Path.Combine(cluster.ScratchPath, "postgres.jsonl");
        var load = cluster.ClientAsync("load", "--events", "4000", "--entities", "200", "--concurrency", "64", "--acked", acked, "--json");
        await Poll.UntilAsync(() => File.Exists(acked) && File.ReadLines(acked).Count() >= 800, TimeSpan.FromSeconds(60),
            "800 events acknowledged before the crash");

        var worker = cluster.Nodes[2];
        worker.Kill();
        var loaded = await load;

        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        Assert.Equal(4000, (int)loaded.Json["acknowledged"]!);
        await cluster.AssertVerifiedAsync(acked, 4000);
        // The events are in PostgreSQL itself: the schema was created there and holds every event once.
        var rows = Convert.ToInt64(await database.ScalarAsync(
            "SELECT count(*) FROM journal WHERE persistence_id LIKE 'entity-%' AND deleted = false"));
        Assert.Equal(4000, rows);
        Assert.All(cluster.Nodes.Take(2), node => Assert.Contains(node.Lines, line => line.Contains("journal PostgreSQL")));
    }
}
