using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// Whether one flooding producer hurts another (<c>--limits</c>): a steady producer posts single
/// events at a fixed rate to node B (the second node) and its latency is recorded, first alone,
/// then while a second client floods node A (the first) with as many requests as it can keep in
/// flight, far past the nodes' write limit (<see cref="WritesPerSecond"/>, started with
/// <c>--rate-limit-writes</c>). The flood's admitted writes still reach every node through
/// sharding; the limit is what bounds them. Target: the flooded p99 at most twice the p99 alone.
/// </summary>
public static class Limits
{
    /// <summary>The nodes' <c>--rate-limit-writes</c> in this run: per client per node.</summary>
    public const int WritesPerSecond = 1000;

    /// <summary>The steady producer's rate, events per second, paced (open loop).</summary>
    public const int SteadyRate = 200;

    /// <summary>The steady producer's threads: enough for its rate at ten times its usual latency.</summary>
    private const int SteadyThreads = 32;

    /// <summary>The flooding client's requests in flight.</summary>
    public const int FloodInFlight = 256;

    /// <summary>The node arguments of a <c>--limits</c> run.</summary>
    public static readonly string[] NodeArguments = ["--rate-limit-writes", WritesPerSecond.ToString()];

    public static async Task<JsonObject> RunAsync(BenchCluster cluster, BenchPlan plan, Action<string> say)
    {
        var runId = Guid.NewGuid().ToString("N")[..6];
        var seconds = plan.HalfLoadSeconds;
        using var steadyHttp = Client(cluster, 1, 64);
        using var floodHttp = Client(cluster, 0, FloodInFlight);

        say($"steady producer alone: {SteadyRate} events/s to node B for {seconds} s...");
        var alone = await SteadyAsync(steadyHttp, $"sa-{runId}-", seconds, CancellationToken.None);
        say($"alone: p50 {alone.Milliseconds(50):0.0} ms, p99 {alone.Milliseconds(99):0.0} ms");

        say($"flooding node A ({FloodInFlight} in flight, limit {WritesPerSecond:N0}/s per client) while the steady producer runs again...");
        using var stop = new CancellationTokenSource();
        var flood = FloodAsync(floodHttp, $"fl-{runId}-", stop.Token);
        // The flood at full strength before the steady producer's clock starts.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var flooded = await SteadyAsync(steadyHttp, $"sf-{runId}-", seconds, CancellationToken.None);
        await stop.CancelAsync();
        var (admitted, refused, failed, floodSeconds) = await flood;
        say($"flooded: p50 {flooded.Milliseconds(50):0.0} ms, p99 {flooded.Milliseconds(99):0.0} ms; the flood had {admitted / floodSeconds:N0} writes/s " +
            $"admitted, {refused / floodSeconds:N0}/s refused with 429");

        var ratio = alone.Milliseconds(99) > 0 ? flooded.Milliseconds(99) / alone.Milliseconds(99) : 0;
        say($"p99 flooded ÷ alone: {ratio:0.00} (target ≤ 2)");
        return new JsonObject
        {
            ["writeLimitPerClient"] = WritesPerSecond,
            ["steadyRate"] = SteadyRate,
            ["seconds"] = seconds,
            ["alone"] = Figures(alone),
            ["flooded"] = Figures(flooded),
            ["flood"] = new JsonObject
            {
                ["inFlight"] = FloodInFlight,
                ["seconds"] = Math.Round(floodSeconds, 1),
                ["admittedPerSecond"] = Math.Round(admitted / floodSeconds, 1),
                ["refused429PerSecond"] = Math.Round(refused / floodSeconds, 1),
                ["failed"] = failed,
            },
            ["p99Ratio"] = Math.Round(ratio, 2),
        };
    }

    private static HttpClient Client(BenchCluster cluster, int node, int connections) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{BenchCluster.HttpPortOf(cluster.Ports[node])}"),
            Timeout = TimeSpan.FromSeconds(30),
        };

    private static ByteArrayContent Event(string prefix, long i)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(
            $"{{\"entityId\":\"{prefix}{i % 1000}\",\"type\":\"limits\",\"eventId\":\"{prefix}e{i}\",\"data\":{{\"seq\":{i}}}}}"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>
    /// <see cref="SteadyRate"/> events a second for <paramref name="seconds"/>, each sent at its
    /// scheduled time whatever the earlier ones are doing, its latency counted from that time (no
    /// coordinated omission). Sent synchronously from threads of their own, so that the flood's
    /// continuations on this process's thread pool do not delay the steady producer's: what is
    /// measured is the nodes, not this process. Every one must be accepted.
    /// </summary>
    private static Task<LatencyHistogram> SteadyAsync(HttpClient http, string prefix, int seconds, CancellationToken cancel)
    {
        var latencies = new LatencyHistogram();
        var gate = new Lock();
        var start = Stopwatch.GetTimestamp();
        var total = (long)SteadyRate * seconds;
        var next = -1L;
        Exception? failure = null;
        var threads = Enumerable.Range(0, SteadyThreads).Select(_ => new Thread(() =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < total && failure is null && !cancel.IsCancellationRequested)
            {
                var due = TimeSpan.FromSeconds((double)i / SteadyRate);
                var wait = due - Stopwatch.GetElapsedTime(start);
                if (wait > TimeSpan.Zero)
                    Thread.Sleep(wait);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = Event(prefix, i) };
                    using var response = http.Send(request, cancel);
                    if (!response.IsSuccessStatusCode)
                        throw new InvalidOperationException($"the steady producer's POST /api/events answered {(int)response.StatusCode}");
                    var latency = Stopwatch.GetElapsedTime(start) - due;
                    lock (gate)
                        latencies.Record(latency);
                }
                catch (Exception ex)
                {
                    failure ??= ex;
                }
            }
        }) { IsBackground = true, Name = "steady-producer" }).ToList();
        threads.ForEach(thread => thread.Start());
        return Task.Run(() =>
        {
            threads.ForEach(thread => thread.Join());
            return failure is null ? latencies : throw new InvalidOperationException(failure.Message, failure);
        }, cancel);
    }

    /// <summary>Posts with <see cref="FloodInFlight"/> requests in flight until cancelled; counts what was admitted and refused.</summary>
    private static async Task<(long Admitted, long Refused, long Failed, double Seconds)> FloodAsync(HttpClient http, string prefix, CancellationToken stop)
    {
        long admitted = 0, refused = 0, failed = 0, next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, FloodInFlight).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var content = Event(prefix, Interlocked.Increment(ref next));
                    using var response = await http.PostAsync("/api/events", content, stop);
                    await response.Content.CopyToAsync(Stream.Null, stop);
                    if (response.StatusCode == HttpStatusCode.TooManyRequests)
                        Interlocked.Increment(ref refused);
                    else if (response.IsSuccessStatusCode)
                        Interlocked.Increment(ref admitted);
                    else
                        Interlocked.Increment(ref failed);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // The end of the flood.
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })));
        return (admitted, refused, failed, clock.Elapsed.TotalSeconds);
    }

    private static JsonObject Figures(LatencyHistogram latencies) => new()
    {
        ["events"] = latencies.Count,
        ["latencyMs"] = new JsonObject
        {
            ["p50"] = Math.Round(latencies.Milliseconds(50), 2),
            ["p99"] = Math.Round(latencies.Milliseconds(99), 2),
            ["max"] = Math.Round(latencies.MaxMilliseconds, 2),
        },
    };
}
