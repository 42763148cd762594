using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// The bulk and HTTP figures on a running 3-node cluster, all in one run so that they compare:
/// the native client path's single-event durable rate (<c>load</c>), <c>send --file</c> of an
/// NDJSON file (then <c>verify</c>), and this process's own HTTP load generator (HttpClient on
/// SocketsHttpHandler, many connections, a fixed number of requests in flight) posting single
/// events to <c>POST /api/events</c> of one node, then NDJSON batches to <c>POST /api/events/batch</c>.
/// </summary>
public static class Bulk
{
    /// <summary>Entities the events are spread over, in every phase.</summary>
    public const int Entities = 10_000;

    /// <summary>
    /// Requests in flight for single events over HTTP, as many as the native phase keeps in flight
    /// (and as many connections: one request per connection at a time).
    /// </summary>
    public const int HttpConcurrency = 1024;

    /// <summary>Events per NDJSON batch over HTTP, and batches in flight.</summary>
    public const int HttpBatchEvents = 1000;

    public const int HttpBatchesInFlight = 8;

    /// <summary>The bulk part of a run's results.</summary>
    public static async Task<JsonObject> RunAsync(Repository repository, BenchCluster cluster, string workDir, BenchPlan plan, Action<string> say)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        var timeout = TimeSpan.FromMinutes(30);
        var seeds = cluster.Seeds;

        say($"native single events: load of {plan.DurableEvents:N0} events over {Entities:N0} entities, concurrency 1024...");
        var single = await repository.ClientJsonAsync(seeds, timeout, "load", "--events", plan.DurableEvents.ToString(), "--entities",
            Entities.ToString(), "--concurrency", "1024", "--entity-prefix", $"ns-{runId}-");
        var singleRate = (double)single["eventsPerSecond"]!;
        say($"native single: {singleRate:N0} events/s");

        var file = Path.Combine(workDir, "bulk.ndjson");
        await WriteFileAsync(file, plan.BulkEvents, $"bf-{runId}-");
        var acked = Path.Combine(workDir, "bulk-acked.jsonl");
        say($"send --file: {plan.BulkEvents:N0} events over {Entities:N0} entities (acknowledgements recorded for verify)...");
        var bulk = await repository.ClientJsonAsync(seeds, timeout, "send", "--file", file, "--acked", acked);
        var bulkRate = (double)bulk["eventsPerSecond"]!;
        say($"send --file: {bulkRate:N0} events/s ({bulkRate / singleRate:0.00} × native single), file checked in {(double)bulk["checkSeconds"]!:0.0} s");
        var check = await repository.ClientJsonAsync(seeds, timeout, "verify", "--acked", acked);
        if ((long)check["lost"]! != 0 || (long)check["duplicated"]! != 0 || (long)check["gaps"]! != 0 || (long)check["acked"]! != plan.BulkEvents)
            throw new InvalidOperationException($"bulk verification failed: {check.ToJsonString()}");
        say($"verified: {(long)check["acked"]!:N0} events each applied once (0 lost, 0 duplicated, 0 gaps)");

        var baseUri = new Uri($"http://127.0.0.1:{BenchCluster.HttpPortOf(cluster.Ports[0])}");
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = HttpConcurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        }) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };

        say($"HTTP single events: {plan.HttpEvents:N0} POST /api/events to one node, {HttpConcurrency} in flight...");
        var httpSingle = await PostSinglesAsync(http, plan.HttpEvents, $"hs-{runId}-");
        say($"HTTP single: {(double)httpSingle["eventsPerSecond"]!:N0} events/s ({(double)httpSingle["eventsPerSecond"]! / singleRate:0.00} × native single), " +
            $"p50 {(double)httpSingle["latencyMs"]!["p50"]!:0.0} ms, p99 {(double)httpSingle["latencyMs"]!["p99"]!:0.0} ms");

        say($"HTTP batches: {plan.BulkEvents:N0} events in NDJSON batches of {HttpBatchEvents} to one node, {HttpBatchesInFlight} in flight...");
        var httpBatch = await PostBatchesAsync(http, plan.BulkEvents, $"hb-{runId}-");
        say($"HTTP batches: {(double)httpBatch["eventsPerSecond"]!:N0} events/s ({(double)httpBatch["eventsPerSecond"]! / singleRate:0.00} × native single)");

        return new JsonObject
        {
            ["entities"] = Entities,
            ["nativeSingle"] = new JsonObject
            {
                ["events"] = plan.DurableEvents,
                ["concurrency"] = 1024,
                ["eventsPerSecond"] = single["eventsPerSecond"]!.DeepClone(),
                ["latencyMs"] = single["latencyMs"]!.DeepClone(),
            },
            ["sendFile"] = new JsonObject
            {
                ["events"] = plan.BulkEvents,
                ["seconds"] = bulk["seconds"]!.DeepClone(),
                ["checkSeconds"] = bulk["checkSeconds"]!.DeepClone(),
                ["eventsPerSecond"] = bulk["eventsPerSecond"]!.DeepClone(),
                ["toNativeSingle"] = Math.Round(bulkRate / singleRate, 2),
                ["verification"] = new JsonObject
                {
                    ["acked"] = check["acked"]!.DeepClone(), ["lost"] = check["lost"]!.DeepClone(),
                    ["duplicated"] = check["duplicated"]!.DeepClone(), ["gaps"] = check["gaps"]!.DeepClone(),
                },
            },
            ["httpSingle"] = httpSingle.With("toNativeSingle", Math.Round((double)httpSingle["eventsPerSecond"]! / singleRate, 2)),
            ["httpBatch"] = httpBatch.With("toNativeSingle", Math.Round((double)httpBatch["eventsPerSecond"]! / singleRate, 2)),
        };
    }

    private static JsonObject With(this JsonObject o, string name, double value)
    {
        o[name] = value;
        return o;
    }

    /// <summary>An NDJSON file of <paramref name="events"/> events over <see cref="Entities"/> entities, each with its own id.</summary>
    private static async Task WriteFileAsync(string path, int events, string prefix)
    {
        await using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        for (var i = 0; i < events; i++)
            await writer.WriteLineAsync(Line(prefix, i));
    }

    private static string Line(string prefix, int i) =>
        $"{{\"entityId\":\"{prefix}{i % Entities}\",\"type\":\"bulk\",\"eventId\":\"{prefix}e{i}\",\"data\":{{\"seq\":{i}}}}}";

    /// <summary>Single events, one POST each, with a fixed number in flight; a refused or failed one ends the run with its reason.</summary>
    private static async Task<JsonObject> PostSinglesAsync(HttpClient http, int events, string prefix)
    {
        var latencies = new LatencyHistogram();
        var gate = new Lock();
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, HttpConcurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < events)
            {
                var started = Stopwatch.GetTimestamp();
                using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Line(prefix, i)));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync("/api/events", content);
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"POST /api/events answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                await response.Content.CopyToAsync(Stream.Null);
                var latency = Stopwatch.GetElapsedTime(started);
                lock (gate)
                    latencies.Record(latency);
            }
        })));
        return Figures(events, clock.Elapsed, latencies, HttpConcurrency);
    }

    /// <summary>NDJSON batches with a fixed number in flight; every event of each must be accepted.</summary>
    private static async Task<JsonObject> PostBatchesAsync(HttpClient http, int events, string prefix)
    {
        var latencies = new LatencyHistogram();
        var gate = new Lock();
        var batches = (events + HttpBatchEvents - 1) / HttpBatchEvents;
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, HttpBatchesInFlight).Select(_ => Task.Run(async () =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var body = new StringBuilder();
                var count = Math.Min(HttpBatchEvents, events - b * HttpBatchEvents);
                for (var i = b * HttpBatchEvents; i < b * HttpBatchEvents + count; i++)
                    body.Append(Line(prefix, i)).Append('\n');
                var started = Stopwatch.GetTimestamp();
                using var content = new StringContent(body.ToString(), new UTF8Encoding(false), new MediaTypeHeaderValue("application/x-ndjson"));
                using var response = await http.PostAsync("/api/events/batch", content);
                var answer = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"POST /api/events/batch answered {(int)response.StatusCode}: {answer}");
                using var document = JsonDocument.Parse(answer);
                if (document.RootElement.GetProperty("accepted").GetInt32() != count)
                    throw new InvalidOperationException($"a batch of {count} events was not accepted whole: {answer[..Math.Min(answer.Length, 600)]}");
                var latency = Stopwatch.GetElapsedTime(started);
                lock (gate)
                    latencies.Record(latency);
            }
        })));
        return Figures(events, clock.Elapsed, latencies, HttpBatchesInFlight);
    }

    private static JsonObject Figures(int events, TimeSpan elapsed, LatencyHistogram latencies, int inFlight) => new()
    {
        ["events"] = events,
        ["inFlight"] = inFlight,
        ["seconds"] = Math.Round(elapsed.TotalSeconds, 3),
        ["eventsPerSecond"] = Math.Round(events / elapsed.TotalSeconds, 1),
        ["latencyMs"] = new JsonObject
        {
            ["p50"] = Math.Round(latencies.Milliseconds(50), 2),
            ["p99"] = Math.Round(latencies.Milliseconds(99), 2),
            ["max"] = Math.Round(latencies.MaxMilliseconds, 2),
        },
    };
}
