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

    public static async Task<double> TrialAsync(BenchCluster cluster, string runId, int trial, Action<string> say)
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

        var clock = Stopwatch.StartNew();
        cluster.Kill(victim);
        while (true)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(90))
                throw new TimeoutException($"failover trial {trial}: {entity} did not answer from a survivor within 90 s");
            try
            {
                using var response = await http.GetAsync($"{api}/api/entities/{entity}");
                if (response.IsSuccessStatusCode && JsonNode.Parse(await response.Content.ReadAsStringAsync()) is { } state
                                                 && (long?)state["version"] == Events && (string?)state["node"] != victimAddress)
                    break;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // The survivor waits for the shard's new home; ask again.
            }

            await Task.Delay(100);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        say($"failover trial {trial}: kill -9 of node on port {cluster.Ports[victim]}, {entity} answered from a survivor with version {Events} after {seconds:0.00} s");
        cluster.StartNode(victim);
        await cluster.WaitUntilSettledAsync(TimeSpan.FromSeconds(120));
        return seconds;
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
