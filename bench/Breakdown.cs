using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace EventCluster.Bench;

/// <summary>
/// Where an event's time goes: the nodes' <c>eventcluster_write_stage_seconds</c> histograms and
/// runtime counters (garbage collection, lock contention) read from every node's <c>/metrics</c>
/// before and after a run, and the difference set beside the client's own latency. What the stages
/// do not cover (the reply's way back from the entity to the client, and the client) is the rest
/// of the client's mean.
/// </summary>
public static partial class Breakdown
{
    /// <summary>The write path's stages in order, as the node labels them.</summary>
    public static readonly IReadOnlyList<string> Stages =
        ["client_to_ingress", "ingress", "shard_region", "entity", "journal_in", "writer_queue", "write_commit", "journal_out"];

    /// <summary>The summed counters of every node at one moment.</summary>
    public sealed class Snapshot
    {
        public Dictionary<(string Stage, double Le), double> Buckets { get; } = [];

        public Dictionary<string, (double Sum, double Count)> Totals { get; } = [];

        public Dictionary<string, double> Counters { get; } = [];
    }

    /// <summary>Reads and sums the figures of every node of <paramref name="cluster"/>.</summary>
    public static async Task<Snapshot> ReadAsync(BenchCluster cluster)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var snapshot = new Snapshot();
        foreach (var port in cluster.Ports)
        {
            var text = await http.GetStringAsync($"http://127.0.0.1:{BenchCluster.HttpPortOf(port)}/metrics");
            foreach (var line in text.Split('\n'))
                Add(snapshot, line);
        }

        return snapshot;
    }

    /// <summary>What happened between <paramref name="before"/> and <paramref name="after"/>, beside the client's <paramref name="load"/> summary.</summary>
    public static JsonObject Between(Snapshot before, Snapshot after, JsonNode load)
    {
        var stages = new JsonObject();
        var stageMeans = 0.0;
        foreach (var stage in Stages)
        {
            var (sum, count) = after.Totals.GetValueOrDefault(stage);
            var (sumBefore, countBefore) = before.Totals.GetValueOrDefault(stage);
            var events = count - countBefore;
            if (events <= 0)
                continue;
            var mean = (sum - sumBefore) / events * 1000;
            stageMeans += mean;
            var buckets = after.Buckets.Where(b => b.Key.Stage == stage)
                .Select(b => (b.Key.Le, Count: b.Value - before.Buckets.GetValueOrDefault(b.Key)))
                .OrderBy(b => b.Le).ToList();
            stages[stage] = new JsonObject
            {
                ["events"] = (long)events,
                ["mean"] = Math.Round(mean, 3),
                ["p50"] = Math.Round(Percentile(buckets, events, 0.50) * 1000, 3),
                ["p99"] = Math.Round(Percentile(buckets, events, 0.99) * 1000, 3),
            };
        }

        var clientMean = (double?)load["latencyMs"]?["mean"] ?? 0;
        var clientLate = (double?)load["clientLateMs"]?["mean"] ?? 0;
        double Counter(string name) => after.Counters.GetValueOrDefault(name) - before.Counters.GetValueOrDefault(name);
        return new JsonObject
        {
            ["stagesMs"] = stages,
            ["clientMeanMs"] = clientMean,
            ["clientLateMs"] = load["clientLateMs"]?.DeepClone(),
            ["clientGcPauseSeconds"] = Math.Round(((double?)load["clientGcPauseMs"] ?? 0) / 1000, 3),
            // The reply from the entity to the client (remoting out) and the client's own work.
            ["replyAndClientMeanMs"] = Math.Round(Math.Max(0, clientMean - clientLate - stageMeans), 3),
            ["gcPauseSeconds"] = Math.Round(Counter("gc_pause"), 3),
            // Collections by the oldest generation they collected.
            ["gcCollections"] = new JsonObject
            {
                ["gen0"] = Counter("gen0"),
                ["gen1"] = Counter("gen1"),
                ["gen2"] = Counter("gen2"),
            },
            ["lockContentions"] = Counter("lock_contentions"),
        };
    }

    /// <summary>One line of the breakdown for the table: each stage's mean and p99.</summary>
    public static string Describe(JsonNode breakdown)
    {
        var stages = breakdown["stagesMs"]!.AsObject();
        var parts = stages.Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{s.Key} {(double)s.Value!["mean"]!:0.00} (p99 {(double)s.Value!["p99"]!:0.0})"));
        return string.Create(CultureInfo.InvariantCulture,
            $"{string.Join(" · ", parts)} · reply and client {(double)breakdown["replyAndClientMeanMs"]!:0.00} ms; GC pauses: nodes {(double)breakdown["gcPauseSeconds"]!:0.00} s " +
            $"({breakdown["gcCollections"]!.AsObject().Sum(g => (double)g.Value!):0} collections, {breakdown["gcCollections"]!["gen2"]} of gen2), client {(double?)breakdown["clientGcPauseSeconds"] ?? 0:0.00} s");
    }

    /// <summary>The value below which <paramref name="p"/> of <paramref name="total"/> observations fall, interpolated within its bucket.</summary>
    private static double Percentile(List<(double Le, double Count)> cumulative, double total, double p)
    {
        var rank = p * total;
        var lower = 0.0;
        var below = 0.0;
        foreach (var (le, count) in cumulative)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(le))
                    return lower;
                return lower + (le - lower) * ((rank - below) / Math.Max(1, count - below));
            }

            lower = le;
            below = count;
        }

        return lower;
    }

    private static void Add(Snapshot snapshot, string line)
    {
        if (Bucket().Match(line) is { Success: true } bucket)
        {
            var le = bucket.Groups[2].Value == "+Inf" ? double.PositiveInfinity : double.Parse(bucket.Groups[2].Value, CultureInfo.InvariantCulture);
            var key = (bucket.Groups[1].Value, le);
            snapshot.Buckets[key] = snapshot.Buckets.GetValueOrDefault(key) + Value(bucket.Groups[3]);
        }
        else if (Total().Match(line) is { Success: true } total)
        {
            var stage = total.Groups[2].Value;
            var (sum, count) = snapshot.Totals.GetValueOrDefault(stage);
            snapshot.Totals[stage] = total.Groups[1].Value == "sum" ? (sum + Value(total.Groups[3]), count) : (sum, count + Value(total.Groups[3]));
        }
        else if (Runtime().Match(line) is { Success: true } runtime)
        {
            var name = runtime.Groups[1].Value switch
            {
                "dotnet_gc_pause_time_seconds_total" => "gc_pause",
                "dotnet_monitor_lock_contentions_total" => "lock_contentions",
                _ => runtime.Groups[2].Value,
            };
            snapshot.Counters[name] = snapshot.Counters.GetValueOrDefault(name) + Value(runtime.Groups[3]);
        }
    }

    private static double Value(Group group) => double.Parse(group.Value, CultureInfo.InvariantCulture);

    [GeneratedRegex("""^eventcluster_write_stage_seconds_bucket\{stage="(\w+)",le="([^"]+)"\} (\S+)""")]
    private static partial Regex Bucket();

    [GeneratedRegex("""^eventcluster_write_stage_seconds_(sum|count)\{stage="(\w+)"\} (\S+)""")]
    private static partial Regex Total();

    [GeneratedRegex("""^(dotnet_gc_pause_time_seconds_total|dotnet_monitor_lock_contentions_total|dotnet_gc_collections_total)(?:\{gc_heap_generation="(gen\d)"\}|\{\})? (\S+)""")]
    private static partial Regex Runtime();
}
