using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// One crash-failover trial: an entity with a known version on one node, <c>kill -9</c> of that
/// node, then the time until a survivor answers for the entity with that version. The killed
/// node is restarted and the cluster settles before the next trial.
/// </summary>
public static class Failover
{
    private const int Events = 3;

    /// <summary>
    /// The failover part of a run (<c>--failover</c>): the durable saturation rate, the
    /// false-downing check at half of it (unless <paramref name="checkSeconds"/> is 0), then the
    /// crash-failover trials.
    /// </summary>
    public static async Task<JsonObject> RunAsync(Repository repository, BenchCluster cluster, BenchPlan plan, int checkSeconds,
        Action<string> say)
    {
        say($"durable saturation: load of {plan.DurableEvents:N0} events over 1,000 entities, concurrency 1024...");
        var saturation = await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(30), "load", "--entities", "1000",
            "--concurrency", "1024", "--events", plan.DurableEvents.ToString());
        var durableRate = (double)saturation["eventsPerSecond"]!;
        say($"durable saturation: {durableRate:N0} events/s");
        var falseDowning = checkSeconds > 0 ? await FalseDowning.CheckAsync(repository, cluster, (long)(durableRate / 2), checkSeconds, say) : null;
        return new JsonObject
        {
            ["durableEventsPerSecond"] = Math.Round(durableRate),
            ["falseDowning"] = falseDowning,
            ["failoverSeconds"] = await TrialsAsync(cluster, Guid.NewGuid().ToString("N")[..6], plan.FailoverTrials, say),
        };
    }

    /// <summary>Crash-failover trials one after the other: <c>{p50, max, trials}</c> in seconds.</summary>
    public static async Task<JsonObject> TrialsAsync(BenchCluster cluster, string runId, int trials, Action<string> say)
    {
        var seconds = new List<double>();
        var histogram = new LatencyHistogram();
        for (var trial = 1; trial <= trials; trial++)
        {
            seconds.Add(await TrialAsync(cluster, runId, trial, say));
            histogram.Record(TimeSpan.FromSeconds(seconds[^1]));
        }

        return new JsonObject
        {
            ["p50"] = Math.Round(histogram.Milliseconds(50) / 1000, 2),
            ["max"] = Math.Round(histogram.MaxMilliseconds / 1000, 2),
            ["trials"] = new JsonArray(seconds.Select(f => (JsonNode)Math.Round(f, 2)).ToArray()),
        };
    }

    private static async Task<double> TrialAsync(BenchCluster cluster, string runId, int trial, Action<string> say)
    {
        // Rotate over the nodes: a plain node, the second seed, the first seed (coordinator).
        var victim = new[] { 2, 1, 0 }[(trial - 1) % 3];
        var survivor = (victim + 1) % BenchCluster.Nodes;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var api = $"http://127.0.0.1:{BenchCluster.HttpPortOf(cluster.Ports[survivor])}";
        var victimAddress = BenchCluster.AddressOf(cluster.Ports[victim]);

        string? entity = null;
        for (var k = 0; k < 500 && entity is null; k++)
        {
            var candidate = $"failover-{runId}-{trial}-{k}";
            if (await PostAsync(http, api, candidate) is { } node && node == victimAddress)
                entity = candidate;
        }

        if (entity is null)
            throw new InvalidOperationException($"failover trial {trial}: found no entity on {victimAddress}");
        for (var n = 1; n < Events; n++)
        {
            if (await PostAsync(http, api, entity) is null)
                throw new InvalidOperationException($"failover trial {trial}: event {n + 1} to {entity} was not acknowledged");
        }

        var killedAt = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        cluster.Kill(victim);
        var seconds = await FirstAnswerAsync(api, entity, victimAddress, clock, trial);
        say($"failover trial {trial}: kill -9 of node on port {cluster.Ports[victim]} at {killedAt:HH:mm:ss.fff} UTC, {entity} answered from a survivor with version {Events} after {seconds:0.00} s");
        cluster.StartNode(victim);
        await cluster.WaitUntilSettledAsync(TimeSpan.FromSeconds(120));
        return seconds;
    }

    /// <summary>
    /// Seconds on <paramref name="clock"/> until a survivor answers for the entity with every event.
    /// A new request leaves every 100 ms without waiting for the earlier ones: a request sent
    /// while the dead node still counts as the shard's home is lost and only times out, and waiting
    /// for that would add up to its timeout to the figure.
    /// </summary>
    private static async Task<double> FirstAnswerAsync(string api, string entity, string victimAddress, Stopwatch clock, int trial)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var stop = new CancellationTokenSource();
        var answered = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probes = new List<Task>();
        try
        {
            while (!answered.Task.IsCompleted)
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(90))
                    throw new TimeoutException($"failover trial {trial}: {entity} did not answer from a survivor within 90 s");
                probes.Add(ProbeAsync());
                await Task.WhenAny(answered.Task, Task.Delay(100));
            }

            return await answered.Task;
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(probes);
        }

        async Task ProbeAsync()
        {
            try
            {
                using var response = await http.GetAsync($"{api}/api/entities/{entity}", stop.Token);
                if (response.IsSuccessStatusCode && JsonNode.Parse(await response.Content.ReadAsStringAsync(stop.Token)) is { } state
                                                 && (long?)state["version"] == Events && (string?)state["node"] != victimAddress)
                    answered.TrySetResult(clock.Elapsed.TotalSeconds);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Lost with the dead node, refused while the shard moves, or no longer needed.
            }
        }
    }

    /// <summary>Posts one event; the address of the node that acknowledged it, or null.</summary>
    private static async Task<string?> PostAsync(HttpClient http, string api, string entity)
    {
        try
        {
            using var response = await http.PostAsJsonAsync($"{api}/api/events", new { entityId = entity, type = "failover", data = new { } });
            return response.IsSuccessStatusCode ? (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())?["node"] : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}
