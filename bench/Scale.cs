using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// Distinct entities, one event each, with the peak resident memory of every node sampled
/// throughout: how the nodes' memory holds as the number of entities grows (the active ones are
/// bounded by passivation, so memory should not follow the count).
/// </summary>
internal static class Scale
{
    /// <summary>Entities of a <c>--scale</c> run when no number is given.</summary>
    public const long DefaultEntities = 10_000_000;

    /// <summary>The memory target per node, in MB.</summary>
    public const long TargetRssMb = 400;

    /// <summary>
    /// Sends one event to each of <paramref name="entities"/> new entities; the "scale" figures.
    /// <paramref name="scaledDownFor"/> names the smaller run (quick, smoke) that scaled the full run's 1,000,000 down.
    /// </summary>
    public static async Task<JsonObject> RunAsync(Repository repository, BenchCluster cluster, long entities, string? scaledDownFor, string runId,
        Action<string> say)
    {
        say($"scale: {entities:N0} distinct entities, one event each{(scaledDownFor is null ? "" : $" (scaled down from 1,000,000 for --{scaledDownFor})")}...");
        var peak = new long[BenchCluster.Nodes];
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                for (var i = 0; i < BenchCluster.Nodes; i++)
                    peak[i] = Math.Max(peak[i], cluster.ResidentMb(i) ?? 0);
                try
                {
                    await Task.Delay(250, stopSampling.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        var rssBefore = Enumerable.Range(0, BenchCluster.Nodes).Select(i => cluster.ResidentMb(i) ?? 0).ToArray();
        // At the slowest rate seen on the benchmark machine (about 2,000 new entities/s), with room to spare.
        var timeout = TimeSpan.FromSeconds(Math.Max(1_800, entities / 1_000));
        var scale = await repository.ClientJsonAsync(cluster.Seeds, timeout, "load", "--events", entities.ToString(), "--entities",
            entities.ToString(), "--entity-prefix", $"scale-{runId}-");
        await stopSampling.CancelAsync();
        await sampler;
        var rssAfter = Enumerable.Range(0, BenchCluster.Nodes).Select(i => cluster.ResidentMb(i) ?? 0).ToArray();
        say($"scale: {(long)scale["acknowledged"]!:N0} entities in {(double)scale["seconds"]!:0.0} s; peak RSS per node " +
            $"{string.Join(" / ", peak.Select(p => $"{p} MB"))}");
        return new JsonObject
        {
            ["entities"] = entities,
            ["scaledDown"] = scaledDownFor is not null,
            ["acknowledged"] = scale["acknowledged"]!.DeepClone(),
            ["seconds"] = scale["seconds"]!.DeepClone(),
            ["eventsPerSecond"] = scale["eventsPerSecond"]!.DeepClone(),
            ["maxRssMb"] = peak.Max(),
            ["peakRssMbByNode"] = new JsonArray(peak.Select(p => (JsonNode)p).ToArray()),
            ["rssMbBefore"] = new JsonArray(rssBefore.Select(p => (JsonNode)p).ToArray()),
            ["rssMbAfter"] = new JsonArray(rssAfter.Select(p => (JsonNode)p).ToArray()),
        };
    }
}
