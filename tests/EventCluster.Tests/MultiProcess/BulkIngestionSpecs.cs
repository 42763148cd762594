using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Client;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Replies;
using EventCluster.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Bulk ingestion with real nodes on SQLite and on PostgreSQL: <c>POST /api/events/batch</c>,
/// <c>eventcluster send --file</c> and the library's <c>SendManyAsync</c>. Each database gets
/// one two-node cluster, shared by the specs of this class.
/// </summary>
public sealed class BulkIngestionSpecs(BulkIngestionSpecs.Clusters clusters, ITestOutputHelper output) : IClassFixture<BulkIngestionSpecs.Clusters>
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_answer_each_line_of_a_batch_and_store_each_event_once_in_order(string database)
    {
        var cluster = await clusters.GetAsync(database, output);
        using var http = Http(cluster);
        var a = $"ba-{Guid.NewGuid():N}"[..20];
        var b = $"bb-{Guid.NewGuid():N}"[..20];

        // Two entities mixed, an id repeated within the batch, a malformed line, an invalid event and a blank line.
        var ndjson = $$$"""
            {"entityId":"{{{a}}}","type":"opened","eventId":"a1","data":{"n":1}}
            {"entityId":"{{{b}}}","type":"opened","eventId":"b1"}
            {"entityId":"{{{a}}}","type":"changed","eventId":"a2","data":{"n":2}}
            {"entityId":"{{{a}}}","type":
            {"entityId":"{{{a}}}","type":"opened","eventId":"a1","data":{"n":1}}

            {"entityId":"not valid!","type":"t","eventId":"x1"}
            {"entityId":"{{{a}}}","type":"changed","eventId":"a3","data":{"m":3}}
            """;
        var first = await PostBatchAsync(http, ndjson, "application/x-ndjson");

        Assert.Equal(HttpStatusCode.OK, first.Status);
        var results = first.Body["results"]!.AsArray();
        Assert.Equal([1, 2, 3, 4, 5, 7, 8], results.Select(r => (int)r!["item"]!));
        // A line that breaks a rule is invalid like a malformed one: the node refuses it before it reaches an entity.
        Assert.Equal(["accepted", "accepted", "accepted", "invalid", "duplicate", "invalid", "accepted"], results.Select(r => (string)r!["status"]!));
        Assert.Equal(4, (int)first.Body["accepted"]!);
        Assert.Equal(1, (int)first.Body["duplicate"]!);
        Assert.Equal(2, (int)first.Body["invalid"]!);
        Assert.Equal(0, (int)first.Body["rejected"]!);
        Assert.Contains("not well-formed JSON", (string)results[3]!["reason"]!);
        Assert.Contains("entity id", (string)results[5]!["reason"]!);
        Assert.Equal([1L, 2L, 3L], new[] { results[0], results[2], results[6] }.Select(r => (long)r!["version"]!));
        var positions = new[] { results[0], results[2], results[6] }.Select(r => (long)r!["position"]!).ToList();
        Assert.True(positions[0] < positions[1] && positions[1] < positions[2], string.Join(",", positions));
        Assert.Equal(positions[0], (long)results[4]!["position"]!);

        // The same events again, as a JSON array: duplicates with their first positions; one new event.
        var array = $$$"""
            [{"entityId":"{{{b}}}","type":"opened","eventId":"b1"},
             {"entityId":"{{{a}}}","type":"changed","eventId":"a2","data":{"n":2}},
             {"entityId":"{{{b}}}","type":"closed","eventId":"b2"}]
            """;
        var second = await PostBatchAsync(http, array, "application/json");
        var again = second.Body["results"]!.AsArray();
        Assert.Equal(["duplicate", "duplicate", "accepted"], again.Select(r => (string)r!["status"]!));
        Assert.Equal((long)results[1]!["position"]!, (long)again[0]!["position"]!);
        Assert.Equal(positions[1], (long)again[1]!["position"]!);

        // Every event once, in the order sent, with the data merged in that order.
        var history = await GetJsonAsync(http, $"/api/entities/{a}/events");
        Assert.Equal(["a1", "a2", "a3"], history["events"]!.AsArray().Select(e => (string)e!["eventId"]!));
        Assert.Equal(positions, history["events"]!.AsArray().Select(e => (long)e!["position"]!));
        var state = await GetJsonAsync(http, $"/api/entities/{a}");
        Assert.Equal(3, (int)state["version"]!);
        Assert.Equal(2, (int)state["data"]!["n"]!);
        Assert.Equal(3, (int)state["data"]!["m"]!);
        Assert.Equal(["b1", "b2"], (await GetJsonAsync(http, $"/api/entities/{b}/events"))["events"]!.AsArray().Select(e => (string)e!["eventId"]!));

        // A body that cannot be read as a whole, the wrong media type, and too many events: refused, nothing stored.
        var c = $"bc-{Guid.NewGuid():N}"[..20];
        var broken = await PostBatchAsync(http, $$$"""[{"entityId":"{{{c}}}","type":"t","eventId":"c1"}, {""", "application/json");
        Assert.Equal(HttpStatusCode.BadRequest, broken.Status);
        Assert.Contains("nothing was stored", (string)broken.Body["detail"]!);
        var text = await http.PostAsync("/api/events/batch", new StringContent("x", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        var tooMany = string.Join("\n", Enumerable.Range(0, 10_001).Select(i => $$$"""{"entityId":"{{{c}}}","type":"t","eventId":"c{{{i}}}"}"""));
        var refused = await PostBatchAsync(http, tooMany, "application/x-ndjson");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.Status);
        Assert.Contains("at most 10000 events", (string)refused.Body["detail"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/entities/{c}")).StatusCode);
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_send_a_file_of_events_exactly_once_and_refuse_a_file_with_a_bad_line(string database)
    {
        var cluster = await clusters.GetAsync(database, output);
        var prefix = $"sf-{Guid.NewGuid():N}"[..12];
        var file = Path.Combine(cluster.ScratchPath, $"{prefix}.ndjson");
        const int events = 20_000;
        await File.WriteAllLinesAsync(file, Enumerable.Range(0, events).Select(i =>
            $$$"""{"entityId":"{{{prefix}}}-{{{i % 1000}}}","type":"bulk","eventId":"{{{prefix}}}-e{{{i}}}","data":{"seq":{{{i}}}}}"""));
        var acked = Path.Combine(cluster.ScratchPath, $"{prefix}.acked.jsonl");

        var sent = await cluster.ClientAsync("send", "--file", file, "--acked", acked, "--json");

        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.Equal(events, (int)sent.Json["accepted"]!);
        output.WriteLine($"{database}: send --file {events} events: {sent.Json["eventsPerSecond"]} events/s");
        await cluster.AssertVerifiedAsync(acked, events);

        // Sent again: every event is a duplicate, nothing is stored twice.
        var repeated = await cluster.ClientAsync("send", "--file", file, "--json");
        Assert.True(repeated.ExitCode == 0, repeated.ToString());
        Assert.Equal(events, (int)repeated.Json["duplicates"]!);
        await cluster.AssertVerifiedAsync(acked, events);

        // A bad line anywhere: exit 2 naming it, and not even the lines before it are sent.
        var bad = Path.Combine(cluster.ScratchPath, $"{prefix}-bad.ndjson");
        await File.WriteAllLinesAsync(bad, [$$$"""{"entityId":"{{{prefix}}}-new","type":"t","eventId":"n1"}""", """{"entityId":"x","type":"t","colour":"red"}"""]);
        var refused = await cluster.ClientAsync("send", "--file", bad);
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains($"{bad}:2:", refused.Stderr);
        var get = await cluster.ClientAsync("get", "--entity", $"{prefix}-new", "--json");
        Assert.True(get.ExitCode == 1 && (long)get.Json["version"]! == 0, get.ToString());
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_return_each_events_own_result_from_SendManyAsync(string database)
    {
        var cluster = await clusters.GetAsync(database, output);
        await using var client = new EventClusterClient(new EventClusterClientOptions { Seeds = cluster.Seeds.ToList() });
        var prefix = $"lm-{Guid.NewGuid():N}"[..12];
        var stored = await client.SendAsync($"{prefix}-0", "opened", new { n = 0 }, $"{prefix}-first");
        var events = new List<SubmitEvent> { EventClusterClient.NewEvent($"{prefix}-0", "opened", null, $"{prefix}-first") };
        events.AddRange(Enumerable.Range(1, 2500).Select(i => EventClusterClient.NewEvent($"{prefix}-{i % 50}", "bulk", new { seq = i }, $"{prefix}-e{i}")));
        events.Add(new SubmitEvent($"{prefix}-0", $"{prefix}-bad", "bad type!", "{}"));

        var outcomes = await client.SendManyAsync(events);

        Assert.Equal(events.Count, outcomes.Count);
        Assert.Equal(EventOutcome.Duplicate, outcomes[0].Status);
        Assert.Equal(stored.Position, outcomes[0].Position);
        Assert.All(outcomes.Skip(1).Take(2500), o => Assert.Equal(EventOutcome.Accepted, o.Status));
        Assert.Equal(events.Skip(1).Take(2500).Select(e => e.EventId), outcomes.Skip(1).Take(2500).Select(o => o.EventId));
        Assert.Equal(EventOutcome.Rejected, outcomes[^1].Status);
        Assert.Contains("event type", outcomes[^1].Reason);
        // Per entity, versions follow the order given and positions increase with them.
        foreach (var entity in outcomes.Skip(1).Take(2500).GroupBy(o => o.EntityId))
        {
            var list = entity.ToList();
            var firstVersion = entity.Key == $"{prefix}-0" ? 2 : 1;
            Assert.Equal(Enumerable.Range(firstVersion, list.Count).Select(v => (long)v), list.Select(o => o.Version!.Value));
            Assert.True(list.Zip(list.Skip(1)).All(p => p.Item1.Position < p.Item2.Position), entity.Key);
        }

        var history = new List<string>();
        await foreach (var record in client.HistoryAsync($"{prefix}-7"))
            history.Add(record.EventId);
        Assert.Equal(events.Skip(1).Take(2500).Where(e => e.EntityId == $"{prefix}-7").Select(e => e.EventId), history);
    }

    private static HttpClient Http(LocalCluster cluster) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}"), Timeout = TimeSpan.FromSeconds(60) };

    private static async Task<(HttpStatusCode Status, JsonNode Body)> PostBatchAsync(HttpClient http, string body, string mediaType)
    {
        var response = await http.PostAsync("/api/events/batch", new StringContent(body, new UTF8Encoding(false), mediaType));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body"));
    }

    private static async Task<JsonNode> GetJsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>One two-node cluster per database, started when a spec first asks for it and shared by the class.</summary>
    public sealed class Clusters : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly Dictionary<string, ClusterOn> _started = [];

        public async Task<LocalCluster> GetAsync(string database, ITestOutputHelper output)
        {
            await _gate.WaitAsync();
            try
            {
                if (!_started.TryGetValue(database, out var on))
                    _started[database] = on = await ClusterOn.StartAsync(database, 2, output);
                return on.Cluster;
            }
            finally
            {
                _gate.Release();
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            foreach (var on in _started.Values)
                await on.DisposeAsync();
        }
    }
}
