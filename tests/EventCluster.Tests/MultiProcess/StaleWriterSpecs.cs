using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// A node paused under load (kill -STOP, far longer than the failure detector's margin) is downed
/// and its shards move; when it resumes (kill -CONT) its stale entities must not make their
/// writes count: nothing acknowledged is contradicted, lost or applied twice, and the node exits
/// as a downed node.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class StaleWriterSpecs(ITestOutputHelper output) : TimingSensitiveSpec
{
    public static TheoryData<string> Journals => new() { "sqlite", "postgres" };

    [SkippableTheory]
    [MemberData(nameof(Journals))]
    public async Task Should_refuse_the_stale_writes_of_a_paused_node_that_was_downed_and_resumed(string journal)
    {
        PostgresDatabase? database = null;
        if (journal == "postgres")
        {
            Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);
            database = await PostgresDatabase.CreateAsync();
        }

        try
        {
            await using var cluster = await LocalCluster.StartAsync(3, database is null ? null : $"postgres:{database.ConnectionString}");
            var acked = Path.Combine(cluster.ScratchPath, "paused.jsonl");
            var victim = cluster.Nodes[2];
            await cluster.ShardsOnRecordAsync(victim);
            var load = cluster.ClientAsync("load", "--events", "12000", "--entities", "300", "--rate", "600", "--acked", acked, "--json");
            await Poll.UntilAsync(() => File.Exists(acked) && File.ReadLines(acked).Count() >= 1500, TimeSpan.FromSeconds(60),
                "1,500 events acknowledged before the pause");

            // Paused with events of its entities in flight: their senders retry through the survivors.
            await PauseBetweenWritesAsync(victim, acked, journal);
            var survivor = cluster.Nodes[0];
            await Poll.UntilAsync(() => survivor.LinesMatching($@"MemberRemoved member={victim.Endpoint}\b").Count > 0,
                TimeSpan.FromSeconds(60), "the paused node to be downed and removed");
            var removedAt = File.ReadLines(acked).Count();
            await Poll.UntilAsync(() => File.ReadLines(acked).Count() >= removedAt + 1500, TimeSpan.FromSeconds(60),
                "the new owners to acknowledge 1,500 more events");

            victim.Resume();
            var exitCode = await victim.WaitForExitAsync(TimeSpan.FromSeconds(60));
            var loaded = await load;

            output.WriteLine($"{journal}: resumed node exited with {exitCode}; load: {loaded.Json["acknowledged"]} acknowledged, " +
                             $"{loaded.Json["retries"]} retries");
            Assert.True(loaded.ExitCode == 0, loaded.ToString());
            Assert.Equal(12000, (int)loaded.Json["acknowledged"]!);
            // Every acknowledgement holds: each acknowledged event is applied exactly once, with no gaps.
            await cluster.AssertVerifiedAsync(acked, 12000);
            Assert.Equal(1, exitCode);
            Assert.NotEmpty(victim.LinesMatching("downed"));
        }
        finally
        {
            if (database is not null)
                await database.DisposeAsync();
        }
    }

    /// <summary>
    /// Pauses <paramref name="victim"/> between two of its journal writes. On SQLite a process
    /// paused inside its write transaction holds the file lock and every writer waits until it
    /// resumes or dies (the README's documented limit of the embedded journal); this spec is about
    /// a node paused between writes, so a pause after which the other nodes acknowledge nothing
    /// for a second is undone and tried again.
    /// </summary>
    private static async Task PauseBetweenWritesAsync(NodeProcess victim, string acked, string journal)
    {
        for (var attempt = 1; ; attempt++)
        {
            var before = File.ReadLines(acked).Count();
            victim.Pause();
            if (journal != "sqlite" || attempt == 10)
                return;
            if (await GrowsAsync(acked, before, TimeSpan.FromSeconds(1)))
                return;
            victim.Resume();
            await GrowsAsync(acked, File.ReadLines(acked).Count(), TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>True once <paramref name="acked"/> holds more than 20 lines beyond <paramref name="count"/> within <paramref name="within"/>.</summary>
    private static async Task<bool> GrowsAsync(string acked, int count, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            if (File.ReadLines(acked).Count() > count + 20)
                return true;
            await Task.Delay(50);
        }

        return false;
    }
}
