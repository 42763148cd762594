using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// What a node tells monitoring, with real nodes: <c>/metrics</c> as Prometheus's own checker
/// (<c>promtool</c>, Debian's prometheus package, which .ci/run installs) reads it, the JSON
/// figures of <c>/api/metrics</c>, and one OTLP trace per event from the HTTP request to the
/// journal write, across nodes.
/// </summary>
public sealed class TelemetrySpecs(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Should_serve_metrics_that_promtool_accepts_with_the_node_runtime_process_and_http_figures()
    {
        var promtool = new[] { "/usr/bin/promtool", "/usr/local/bin/promtool" }.FirstOrDefault(File.Exists);
        Prerequisites.SkipIfMissing(promtool is null ? "no promtool (install Debian's prometheus package; .ci/run does)" : null, output);

        await using var cluster = await LocalCluster.StartAsync(1, nodeArguments: WebhookReceiver.NodeArguments);
        using var receiver = new WebhookReceiver();
        var added = await cluster.ClientAsync("webhooks", "add", "--name", "audit", "--url", receiver.Url);
        Assert.True(added.ExitCode == 0, added.ToString());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        var prefix = $"m-{Guid.NewGuid():N}";
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, $$"""{"entityId":"{{prefix}}-{{i}}","eventId":"e-{{i}}","type":"t"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, $$"""{"entityId":"{{prefix}}-0","eventId":"e-0","type":"t"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(http, """{"entityId":"has space","type":"t"}""")).StatusCode);
        // One event through the client, which stamps its send time.
        var sent = await cluster.ClientAsync("send", "--entity", $"{prefix}-cli", "--type", "t", "--data", "{}");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        await Poll.UntilAsync(async () => (await http.GetStringAsync("/metrics")).Contains("eventcluster_webhook_delivered_total{subscription=\"audit\"} 4"),
            TimeSpan.FromSeconds(60), "the four deliveries counted in /metrics");

        var metrics = await http.GetStringAsync("/metrics");
        var (exitCode, said) = await CheckAsync(promtool!, metrics);

        Assert.True(exitCode == 0 && said.Length == 0, $"promtool check metrics exited {exitCode}:\n{said}");
        Assert.Matches(@"(?m)^eventcluster_events_accepted_total(\{\})? 4$", metrics);
        Assert.Matches(@"(?m)^eventcluster_events_duplicate_total(\{\})? 1$", metrics);
        Assert.Matches(@"(?m)^eventcluster_events_rejected_total(\{\})? 1$", metrics);
        Assert.Matches(@"(?m)^eventcluster_persist_latency_seconds_bucket\{le=""0.001""\} \d+$", metrics);
        Assert.Matches(@"(?m)^eventcluster_persist_latency_seconds_count(\{\})? 4$", metrics);
        Assert.Matches(@"(?m)^eventcluster_webhook_lag\{subscription=""audit""\} 0$", metrics);
        // Where the time of the four stored events went, stage by stage: only the client's event
        // carries a send time (HTTP requests reach the ingress in the node's own process).
        Assert.Equal(1, StageCount(metrics, "client_to_ingress"));
        foreach (var stage in new[] { "entity", "journal_in", "journal_out" })
            Assert.Equal(4, StageCount(metrics, stage));
        // The duplicate passes the ingress and reaches its entity too; other journal writes may share the writer.
        foreach (var stage in new[] { "ingress", "shard_region", "writer_queue", "write_commit" })
            Assert.True(StageCount(metrics, stage) >= 4, $"stage {stage} counted {StageCount(metrics, stage)} events:\n{metrics}");
        Assert.Matches(@"(?m)^# TYPE dotnet_gc_collections_total counter$", metrics);
        Assert.Matches(@"(?m)^# TYPE process_cpu_time_seconds_total counter$", metrics);
        Assert.Matches(@"(?m)^http_server_request_duration_seconds_count\{[^}]*http_route=""/api/events""", metrics);

        var figures = JsonNode.Parse(await http.GetStringAsync("/api/metrics"))!;
        Assert.Equal(4, (long)figures["eventsAccepted"]!);
        Assert.Equal(1, (long)figures["eventsDuplicate"]!);
        Assert.Equal(1, (long)figures["eventsRejected"]!);
        Assert.Equal(4, (long)figures["persistCount"]!);
        Assert.Equal(1, (int)figures["membersByStatus"]!["Up"]!);
        var webhook = Assert.Single(figures["webhooks"]!.AsArray())!;
        Assert.Equal("audit", (string)webhook["subscription"]!);
        Assert.Equal(4, (long)webhook["delivered"]!);
    }

    [Fact]
    public async Task Should_export_one_trace_per_event_from_the_http_request_to_the_journal_write_across_nodes()
    {
        using var collector = new OtlpTraceReceiver();
        await using var cluster = await LocalCluster.StartAsync(2, nodeEnvironment: new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            // Export every 200 ms instead of every 5 s: the spec waits less.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        var (front, back) = (cluster.Nodes[0], cluster.Nodes[1]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{front.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

        // An event whose entity lives on the other node: its trace crosses the cluster.
        string? eventId = null;
        for (var i = 0; i < 50 && eventId is null; i++)
        {
            var candidate = $"t-{Guid.NewGuid():N}";
            var response = await PostAsync(http, $$"""{"entityId":"{{candidate}}","eventId":"{{candidate}}","type":"t"}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            if ((string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["node"]! == back.Address)
                eventId = candidate;
        }

        Assert.True(eventId is not null, "no event of 50 landed on the second node");
        IReadOnlyList<ReceivedSpan> trace = [];
        await Poll.UntilAsync(() =>
        {
            var entity = collector.Spans.FirstOrDefault(s => s.Name == "eventcluster.entity.persist" && s.Attributes.GetValueOrDefault("eventcluster.event_id") == eventId);
            trace = entity is null ? [] : collector.Spans.Where(s => s.TraceId == entity.TraceId).ToList();
            return trace.Count >= 4 && trace.Any(s => s.Name == "eventcluster.journal.write") && trace.Any(s => s.Attributes.ContainsKey("http.route"));
        }, TimeSpan.FromSeconds(60), $"the spans of event {eventId}; received: {string.Join(", ", collector.Spans.Select(s => s.Name).Distinct())}");

        Assert.Empty(collector.Refused);
        var request = Assert.Single(trace, s => s.Attributes.GetValueOrDefault("http.route") == "/api/events");
        var ingress = Assert.Single(trace, s => s.Name == "eventcluster.ingress");
        var persist = Assert.Single(trace, s => s.Name == "eventcluster.entity.persist");
        var write = Assert.Single(trace, s => s.Name == "eventcluster.journal.write");
        Assert.StartsWith("POST", request.Name);
        Assert.Equal("", request.ParentSpanId);
        Assert.Equal(request.SpanId, ingress.ParentSpanId);
        Assert.Equal(ingress.SpanId, persist.ParentSpanId);
        Assert.Equal(persist.SpanId, write.ParentSpanId);
        Assert.Equal(front.Address, request.Resource["service.instance.id"]);
        Assert.Equal(front.Address, ingress.Resource["service.instance.id"]);
        Assert.Equal(back.Address, persist.Resource["service.instance.id"]);
        Assert.Equal(back.Address, write.Resource["service.instance.id"]);
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string body) =>
        http.PostAsync("/api/events", new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="metrics"/>: its exit code and everything it printed.</summary>
    /// <summary>The events <c>eventcluster_write_stage_seconds</c> counted for <paramref name="stage"/>, 0 when it has no series yet.</summary>
    private static long StageCount(string metrics, string stage) =>
        System.Text.RegularExpressions.Regex.Match(metrics, $@"(?m)^eventcluster_write_stage_seconds_count\{{stage=""{stage}""\}} (\d+)$") is { Success: true } count
            ? long.Parse(count.Groups[1].Value)
            : 0;

    private static async Task<(int ExitCode, string Said)> CheckAsync(string promtool, string metrics)
    {
        var startInfo = new ProcessStartInfo(promtool) { ArgumentList = { "check", "metrics" } };
        var process = ChildProcesses.Start(startInfo);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(metrics);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            ChildProcesses.Kill(process);
        }

        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
