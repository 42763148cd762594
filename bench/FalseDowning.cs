using System.Diagnostics;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// The false-downing check: a steady load at half of the durable saturation rate on the three
/// healthy nodes while every node's log and cluster view are watched. A failure detector tuned
/// for fast crash detection must not suspect a node whose heartbeats are only late because the
/// shared cores are busy; any unreachable or downed member during the load fails the check.
/// </summary>
public static class FalseDowning
{
    /// <summary>Log lines that mean a member was suspected (the membership listener's and Akka's own).</summary>
    private static readonly string[] Unreachable = ["UnreachableMember member=", "Marking node(s) as UNREACHABLE"];

    /// <summary>Log lines that mean a member was downed.</summary>
    private static readonly string[] Downed = ["MemberDowned member=", "This node was downed", "SBR is downing"];

    /// <summary>Akka's warning that this node's own heartbeats left late (thread starvation, CPU, GC): a near miss, counted.</summary>
    private const string LateHeartbeat = "Scheduled sending of heartbeat was delayed";

    public static async Task<JsonObject> CheckAsync(Repository repository, BenchCluster cluster, long ratePerSecond, int seconds,
        Action<string> say)
    {
        var logStarts = Enumerable.Range(0, BenchCluster.Nodes).Select(i => new FileInfo(cluster.LogPath(i)).Length).ToArray();
        say($"false-downing check: {ratePerSecond:N0} events/s for {seconds} s, every node's log and cluster view watched...");

        using var stopWatching = new CancellationTokenSource();
        var views = 0;
        var badViews = new List<string>();
        var watcher = Task.Run(async () =>
        {
            var clock = Stopwatch.StartNew();
            while (!stopWatching.IsCancellationRequested)
            {
                for (var i = 0; i < BenchCluster.Nodes; i++)
                {
                    // A node too busy to answer its HTTP API within 2 s is not a cluster verdict; its log still is.
                    if (await cluster.ClusterAsync(i) is not { } view)
                        continue;
                    views++;
                    var members = view["members"]!.AsArray();
                    var healthy = members.Count(m => (string?)m!["status"] == "Up" && (bool?)m["reachable"] == true);
                    if (healthy != BenchCluster.Nodes && badViews.Count < 10)
                        badViews.Add($"{clock.Elapsed.TotalSeconds:0}s node {cluster.Ports[i]}: {members.ToJsonString()}");
                }

                try
                {
                    await Task.Delay(1000, stopWatching.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        var load = await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromSeconds(seconds * 3 + 120), "load", "--entities", "1000",
            "--concurrency", "1024", "--events", (ratePerSecond * seconds).ToString(), "--rate", ratePerSecond.ToString(),
            "--entity-prefix", $"steady-{Guid.NewGuid().ToString("N")[..8]}-");
        await stopWatching.CancelAsync();
        await watcher;

        var (unreachable, downed) = (new List<string>(), new List<string>());
        var lateHeartbeats = 0;
        for (var i = 0; i < BenchCluster.Nodes; i++)
        {
            foreach (var line in NewLines(cluster.LogPath(i), logStarts[i]))
            {
                if (Unreachable.Any(s => line.Contains(s, StringComparison.Ordinal)))
                    unreachable.Add(line);
                else if (Downed.Any(s => line.Contains(s, StringComparison.Ordinal)))
                    downed.Add(line);
                else if (line.Contains(LateHeartbeat, StringComparison.Ordinal))
                    lateHeartbeats++;
            }
        }

        var passed = unreachable.Count == 0 && downed.Count == 0 && badViews.Count == 0;
        say($"false-downing check: {(passed ? "passed" : "FAILED")}: {unreachable.Count} unreachable and {downed.Count} downed log lines, " +
            $"{badViews.Count} of {views} cluster views with a member not Up and reachable, {lateHeartbeats} late-heartbeat warnings; " +
            $"{(double)load["eventsPerSecond"]!:N0} events/s, p99 {(double)load["latencyMs"]!["p99"]!:0.0} ms");
        return new JsonObject
        {
            ["seconds"] = seconds,
            ["offeredPerSecond"] = ratePerSecond,
            ["eventsPerSecond"] = load["eventsPerSecond"]!.DeepClone(),
            ["latencyMs"] = load["latencyMs"]!.DeepClone(),
            ["unreachableLines"] = unreachable.Count,
            ["downedLines"] = downed.Count,
            ["clusterViews"] = views,
            ["clusterViewsWithASuspectedMember"] = badViews.Count,
            ["lateHeartbeatWarnings"] = lateHeartbeats,
            ["examples"] = new JsonArray(downed.Concat(unreachable).Concat(badViews).Take(10).Select(l => (JsonNode)l).ToArray()),
            ["passed"] = passed,
        };
    }

    /// <summary>The lines appended to a node's log after <paramref name="offset"/>.</summary>
    private static IEnumerable<string> NewLines(string path, long offset)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
            yield return line;
    }
}
