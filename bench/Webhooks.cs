using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// The webhook figures on a running 3-node cluster with a real HTTP receiver in this process:
/// deliveries per second, delivery latency at 500 events/s, and how long a subscription takes
/// to resume on a survivor after kill -9 of the node running it.
/// </summary>
public static class Webhooks
{
    /// <summary>The webhook part of a run's results.</summary>
    public static async Task<JsonObject> RunAsync(Repository repository, BenchCluster cluster, string workDir, BenchPlan plan, Action<string> say)
    {
        using var receiver = new Receiver();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{BenchCluster.HttpPortOf(cluster.Ports[0])}") };
        var throughput = await ThroughputAsync(repository, cluster, http, receiver, plan.WebhookEvents, say);
        var latency = await LatencyAsync(repository, cluster, http, receiver, workDir, rate: 500, seconds: plan.WebhookLatencySeconds, say);
        var resume = await ResumeAsync(repository, cluster, http, receiver, say);
        return new JsonObject { ["throughput"] = throughput, ["latency"] = latency, ["resume"] = resume };
    }

    private static async Task<JsonObject> ThroughputAsync(Repository repository, BenchCluster cluster, HttpClient http, Receiver receiver, int events,
        Action<string> say)
    {
        say($"webhooks: {events:N0} events written, then delivered by a subscription (concurrency 64) to a local receiver...");
        var load = await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(10), "load", "--events", events.ToString(), "--entities", "1000",
            "--concurrency", "1024", "--entity-prefix", "wt-");
        var head = (long)(await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(1), "groups"))["head"]!;
        var from = head - events;
        await AddAsync(http, "bench-throughput", receiver, from, 64);
        var started = Stopwatch.StartNew();
        await WaitAsync(() => receiver.Distinct("bench-throughput") >= events, TimeSpan.FromMinutes(5), "every event delivered");
        var seconds = started.Elapsed.TotalSeconds;
        await RemoveAsync(http, "bench-throughput");
        var result = new JsonObject
        {
            ["events"] = events,
            ["seconds"] = Math.Round(seconds, 2),
            ["deliveriesPerSecond"] = Math.Round(events / seconds),
            ["writeEventsPerSecond"] = load["eventsPerSecond"]!.DeepClone(),
        };
        say($"webhooks: {events:N0} deliveries in {seconds:0.0} s ({result["deliveriesPerSecond"]}/s)");
        return result;
    }

    private static async Task<JsonObject> LatencyAsync(Repository repository, BenchCluster cluster, HttpClient http, Receiver receiver, string workDir,
        int rate, int seconds, Action<string> say)
    {
        say($"webhooks: latency while load sends {rate} events/s for {seconds} s...");
        await AddAsync(http, "bench-latency", receiver, null, 16);
        var acked = Path.Combine(workDir, "webhook-latency.jsonl");
        await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(10), "load", "--events", (rate * seconds).ToString(), "--entities", "1000",
            "--rate", rate.ToString(), "--acked", acked, "--entity-prefix", "wl-");
        var ackedAt = File.ReadLines(acked).Select(line => JsonDocument.Parse(line).RootElement)
            .ToDictionary(e => e.GetProperty("eventId").GetString()!, e => e.GetProperty("ackedAt").GetDateTimeOffset());
        await WaitAsync(() => ackedAt.Keys.All(id => receiver.FirstAt("bench-latency", id) is not null), TimeSpan.FromMinutes(2), "every event delivered");
        await RemoveAsync(http, "bench-latency");
        var latencies = new LatencyHistogram();
        foreach (var (eventId, at) in ackedAt)
            latencies.Record(receiver.FirstAt("bench-latency", eventId)!.Value - at);
        var result = new JsonObject
        {
            ["offeredPerSecond"] = rate,
            ["events"] = latencies.Count,
            ["p50Ms"] = Math.Round(latencies.Milliseconds(50), 1),
            ["p99Ms"] = Math.Round(latencies.Milliseconds(99), 1),
            ["maxMs"] = Math.Round(latencies.MaxMilliseconds, 1),
        };
        say($"webhooks: latency at {rate}/s p50 {result["p50Ms"]} ms, p99 {result["p99Ms"]} ms, max {result["maxMs"]} ms");
        return result;
    }

    private static async Task<JsonObject> ResumeAsync(Repository repository, BenchCluster cluster, HttpClient http, Receiver receiver, Action<string> say)
    {
        await AddAsync(http, "bench-resume", receiver, null, 16);
        using var stop = new CancellationTokenSource();
        var load = repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(10), "load", "--events", "12000", "--entities", "1000", "--rate", "200",
            "--entity-prefix", "wr-");
        await WaitAsync(() => receiver.Distinct("bench-resume") >= 400, TimeSpan.FromMinutes(1), "deliveries before the crash");
        var runner = await RunnerIndexAsync(cluster);
        say($"webhooks: kill -9 of the runner's node (port {cluster.Ports[runner]}) during a load of 200 events/s...");
        var killedAt = DateTimeOffset.UtcNow;
        cluster.Kill(runner);
        await WaitAsync(() => receiver.LastAt("bench-resume") > killedAt + TimeSpan.FromMilliseconds(200), TimeSpan.FromMinutes(1), "deliveries after the crash");
        var resumed = (receiver.FirstAfter("bench-resume", killedAt + TimeSpan.FromMilliseconds(200))!.Value - killedAt).TotalSeconds;
        await load;
        say($"webhooks: resumed {resumed:0.0} s after kill -9; restarting the node...");
        cluster.StartNode(runner);
        await cluster.WaitUntilSettledAsync(TimeSpan.FromMinutes(2));
        return new JsonObject { ["secondsToResume"] = Math.Round(resumed, 2), ["killedPort"] = cluster.Ports[runner] };

        async Task<int> RunnerIndexAsync(BenchCluster c)
        {
            for (var attempt = 0; attempt < 60; attempt++)
            {
                var shown = JsonNode.Parse(await http.GetStringAsync("/api/subscriptions/bench-resume"))!;
                var address = (string?)shown["runner"];
                var index = Array.FindIndex(c.Ports, port => address?.EndsWith($":{port}", StringComparison.Ordinal) == true);
                if (index >= 0)
                    return index;
                await Task.Delay(500);
            }

            throw new InvalidOperationException("the subscription never showed its runner");
        }
    }

    private static async Task AddAsync(HttpClient http, string name, Receiver receiver, long? from, int concurrency)
    {
        var body = JsonSerializer.Serialize(new { name, url = $"{receiver.Url}{name}", from = from is null ? (object)"end" : from, concurrency });
        var response = await http.PostAsync("/api/subscriptions", new StringContent(body, Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"adding {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task RemoveAsync(HttpClient http, string name) => await http.DeleteAsync($"/api/subscriptions/{name}");

    private static async Task WaitAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"webhooks: {what} did not happen within {timeout.TotalSeconds:0} s");
            await Task.Delay(50);
        }
    }

    /// <summary>A receiver on a free port: answers 200 to every POST and records when each event first arrived, per subscription.</summary>
    private sealed class Receiver : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTimeOffset>> _first = new();
        private readonly ConcurrentDictionary<string, DateTimeOffset> _last = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<DateTimeOffset>> _arrivals = new();

        public Receiver()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Add(Url);
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public int Distinct(string subscription) => _first.TryGetValue(subscription, out var events) ? events.Count : 0;

        public DateTimeOffset? FirstAt(string subscription, string eventId) =>
            _first.TryGetValue(subscription, out var events) && events.TryGetValue(eventId, out var at) ? at : null;

        public DateTimeOffset LastAt(string subscription) => _last.GetValueOrDefault(subscription);

        /// <summary>The first request (a repeat or not) after <paramref name="after"/>.</summary>
        public DateTimeOffset? FirstAfter(string subscription, DateTimeOffset after) =>
            _arrivals.TryGetValue(subscription, out var arrivals) && arrivals.Any(at => at > after) ? arrivals.Where(at => at > after).Min() : null;

        public void Dispose() => _listener.Close();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                _ = Task.Run(() =>
                {
                    var at = DateTimeOffset.UtcNow;
                    var subscription = context.Request.Headers["EventCluster-Subscription"] ?? "";
                    var eventId = context.Request.Headers["EventCluster-Event-Id"] ?? "";
                    _first.GetOrAdd(subscription, _ => new ConcurrentDictionary<string, DateTimeOffset>()).TryAdd(eventId, at);
                    _last[subscription] = at;
                    _arrivals.GetOrAdd(subscription, _ => new ConcurrentQueue<DateTimeOffset>()).Enqueue(at);
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                });
            }
        }
    }
}
