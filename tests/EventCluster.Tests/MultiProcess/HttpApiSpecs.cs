using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>The HTTP API of a real node: status codes, bodies, duplicates, bad input, metrics (tokens: <see cref="AccessSpecs"/>).</summary>
public sealed class HttpApiSpecs
{
    [Fact]
    public async Task Should_accept_an_event_recognise_its_repeat_and_serve_the_entity()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        using var http = Http(cluster.Nodes[0]);
        var entity = $"http-{Guid.NewGuid():N}";

        var first = await http.PostAsync("/api/events", Json($$$"""{"entityId":"{{{entity}}}","eventId":"e-1","type":"deposit","data":{"amount":5}}"""));
        var again = await http.PostAsync("/api/events", Json($$$"""{"entityId":"{{{entity}}}","eventId":"e-1","type":"deposit","data":{"amount":500}}"""));
        var state = await http.GetAsync($"/api/entities/{entity}");
        var missing = await http.GetAsync($"/api/entities/never-{Guid.NewGuid():N}");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var accepted = await Body(first);
        Assert.Equal(entity, (string)accepted["entityId"]!);
        Assert.Equal(1, (int)accepted["version"]!);
        Assert.False((bool)accepted["duplicate"]!);
        Assert.Contains(cluster.Nodes[0].Endpoint, (string)accepted["node"]!);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((bool)(await Body(again))["duplicate"]!);
        Assert.Equal(HttpStatusCode.OK, state.StatusCode);
        var document = await Body(state);
        Assert.Equal(1, (int)document["eventCount"]!);
        Assert.Equal(5, (int)document["data"]!["amount"]!);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Should_refuse_every_kind_of_bad_input_with_a_problem_and_change_nothing()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        using var http = Http(cluster.Nodes[0]);
        var entity = $"bad-{Guid.NewGuid():N}";
        var ok = await http.PostAsync("/api/events", Json($$$"""{"entityId":"{{{entity}}}","type":"t","data":{"v":1}}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        (string Body, HttpStatusCode Expected)[] cases =
        [
            ($$$"""{"entityId":"{{{entity}}}","type":"t","data":{"v":2},"extra":1}""", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"{{{entity}}}","type":"t","data":{"v":2}""", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"{{{entity}}}","type":"t","data":[1,2]}""", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"{{{entity}}}","type":"t","data":{"v":2,"v":3}}""", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"has space","type":"t","data":{}}""", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"{{{entity}}}","data":{}}""", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"{{{entity}}}","type":"t","entityId":"other"}""", HttpStatusCode.BadRequest),
            ("null", HttpStatusCode.BadRequest),
            ($$$"""{"entityId":"{{{entity}}}","type":"t","data":{"blob":"{{{new string('x', 70_000)}}}"}}""", HttpStatusCode.RequestEntityTooLarge),
        ];
        foreach (var (body, expected) in cases)
        {
            var response = await http.PostAsync("/api/events", Json(body));
            Assert.True(response.StatusCode == expected, $"{body[..Math.Min(body.Length, 80)]}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var detail = (string?)(await Body(response))["detail"];
            Assert.False(string.IsNullOrWhiteSpace(detail));
            Assert.DoesNotContain("EventCluster.", detail);
        }

        var invalidId = await http.GetAsync("/api/entities/has%20space");
        var state = await Body(await http.GetAsync($"/api/entities/{entity}"));
        Assert.Equal(HttpStatusCode.BadRequest, invalidId.StatusCode);
        Assert.Equal(1, (int)state["version"]!);
        Assert.Equal(1, (int)state["data"]!["v"]!);

        // The exporter writes a series without labels with empty braces: the same series for Prometheus.
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Matches(@"(?m)^eventcluster_events_accepted_total(\{\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^eventcluster_events_rejected_total(\{\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^eventcluster_persist_latency_seconds_count(\{\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^eventcluster_members\{status=""Up""\} 1$", metrics);
        Assert.Matches(@"(?m)^eventcluster_active_entities(\{\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^eventcluster_entity_starts_total(\{\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^eventcluster_entity_passivations_total(\{\})? 0", metrics);
        var status = await Body(await http.GetAsync("/api/cluster"));
        Assert.Contains(status["recentEvents"]!.AsArray(), e => (string)e!["kind"]! == "MemberUp");
        var dashboard = await http.GetAsync("/");
        Assert.Equal("text/html", dashboard.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/api/cluster", await dashboard.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_answer_503_with_retry_after_when_the_cluster_cannot_take_the_event()
    {
        var port = FreePorts.Next();
        using var data = new TempDirectory("eventcluster-503");
        // Its only seed is elsewhere and dead: the node never joins, so no shard can be allocated.
        await using var node = NodeProcess.StartNode(port, FreePorts.Next(), [$"127.0.0.1:{FreePorts.Next()}"],
            $"sqlite:{Path.Combine(data.Path, "journal.db")}", Path.Combine(data.Path, "node"));
        using var http = Http(node);
        await Poll.UntilAsync(async () => (await http.GetAsync("/health/live")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the node to listen");

        var ready = await http.GetAsync("/health/ready");
        var response = await http.PostAsync("/api/events", Json("""{"entityId":"lonely","type":"t"}"""));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("retry with the same eventId", (string)(await Body(response))["detail"]!);
    }

    private static HttpClient Http(NodeProcess node) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<JsonNode> Body(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("empty body");
}
