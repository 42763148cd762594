using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Listening to events with real nodes and the real client, on SQLite and on PostgreSQL: a
/// subscription through a crash and a leave, resuming by position, group and Last-Event-ID,
/// filters, and the protections of the Server-Sent Events stream.
/// </summary>
public sealed class ListenerSpecs(ITestOutputHelper output)
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_print_every_acknowledged_event_once_in_position_order_through_a_crash_and_a_leave(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 3, output);
        var cluster = on.Cluster;
        await using var subscriber = SubscriberProcess.Start(cluster.SeedList, "--from", "start");
        await subscriber.WaitForStderrAsync("caught up at", TimeSpan.FromSeconds(60));

        // The default load (1,000 entities, 256 in flight); a node is killed during the first,
        // another leaves gracefully during the second.
        var crashed = Path.Combine(cluster.ScratchPath, "crash.jsonl");
        var firstLoad = cluster.ClientAsync("load", "--events", "8000", "--entities", "1000", "--acked", crashed, "--json");
        await Poll.UntilAsync(() => File.Exists(crashed) && File.ReadLines(crashed).Count() >= 1500, TimeSpan.FromSeconds(60), "1,500 events before the crash");
        cluster.Nodes[2].Kill();
        var first = await firstLoad;
        var left = Path.Combine(cluster.ScratchPath, "leave.jsonl");
        var secondLoad = cluster.ClientAsync("load", "--events", "8000", "--entities", "1000", "--acked", left, "--json");
        await Poll.UntilAsync(() => File.Exists(left) && File.ReadLines(left).Count() >= 1500, TimeSpan.FromSeconds(60), "1,500 events before the leave");
        cluster.Nodes[1].Terminate();
        var second = await secondLoad;

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        var acked = AckedIds(crashed).Concat(AckedIds(left)).ToList();
        Assert.Equal(16000, acked.Count);
        await subscriber.WaitForEventsAsync(acked.Count, TimeSpan.FromSeconds(120));
        subscriber.Interrupt();
        Assert.Equal(0, await subscriber.WaitForExitAsync(TimeSpan.FromSeconds(90)));

        var events = subscriber.Events;
        var positions = events.Select(e => e.GetProperty("position").GetInt64()).ToList();
        output.WriteLine($"{database}: {events.Count} events printed, positions {positions[0]}..{positions[^1]}");
        Assert.True(positions.Zip(positions.Skip(1)).All(pair => pair.Item1 < pair.Item2), "positions strictly increase");
        var printed = events.Select(e => e.GetProperty("eventId").GetString()!).ToList();
        Assert.Equal(printed.Count, printed.Distinct().Count());
        Assert.Equal(acked.ToHashSet(), printed.ToHashSet());
        // Each event at the position its acknowledgement gave.
        var ackedPositions = AckedPositions(crashed).Concat(AckedPositions(left)).ToDictionary();
        Assert.All(events, e => Assert.Equal(ackedPositions[e.GetProperty("eventId").GetString()!], e.GetProperty("position").GetInt64()));
        Assert.Single(subscriber.Stderr.Split('\n'), line => line.StartsWith("caught up at", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_resume_after_a_position_in_a_group_after_a_crash_and_an_exit_and_after_a_last_event_id(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 1, output);
        var cluster = on.Cluster;
        Assert.Equal(0, (await cluster.ClientAsync("load", "--events", "30", "--entities", "5")).ExitCode);
        var all = await SubscribeAsync(cluster, "--from", "start", "--max", "30");
        Assert.Equal(30, all.Count);

        // By position.
        var firstTen = await SubscribeAsync(cluster, "--from", "start", "--max", "10");
        var rest = await SubscribeAsync(cluster, "--from", Position(firstTen[^1]).ToString(), "--max", "20");
        Assert.Equal(Ids(all), Ids(firstTen).Concat(Ids(rest)));

        // By group: a normal exit confirms; the next member goes on after it.
        var exited = await cluster.ClientAsync("subscribe", "--json", "--group", "billing", "--from", "start", "--max", "10");
        Assert.True(exited.ExitCode == 0, exited.ToString());
        Assert.Contains($"confirmed position {Position(all[9])}", exited.Stderr);
        await using var active = SubscriberProcess.Start(cluster.SeedList, "--group", "billing");
        await active.WaitForEventsAsync(20, TimeSpan.FromSeconds(30));
        Assert.Equal(Ids(all.Skip(10)), Ids(active.Events));
        await Poll.UntilAsync(async () => await GroupPositionAsync(cluster, "billing") == Position(all[^1]), TimeSpan.FromSeconds(10),
            "the active member to confirm what it printed");
        await using var standby = SubscriberProcess.Start(cluster.SeedList, "--group", "billing");
        await standby.WaitForStderrAsync("standby", TimeSpan.FromSeconds(30));

        // kill -9 of the active member: the standby takes over after its lease and goes on after the confirmed position.
        active.Kill();
        Assert.Equal(0, (await cluster.ClientAsync("load", "--events", "10", "--entities", "5")).ExitCode);
        await standby.WaitForEventsAsync(10, TimeSpan.FromSeconds(30));
        var after = await SubscribeAsync(cluster, "--from", Position(all[^1]).ToString(), "--max", "10");
        Assert.Equal(Ids(after), Ids(standby.Events));
        standby.Interrupt();
        Assert.Equal(0, await standby.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Contains($"confirmed position {Position(after[^1])}", standby.Stderr);
        var groups = (await cluster.ClientAsync("groups", "--json")).Json;
        var billing = groups["groups"]!.AsArray().Single(g => (string)g!["name"]! == "billing")!;
        Assert.Equal(Position(after[^1]), (long)billing["position"]!);
        Assert.Equal(0, (long)billing["lag"]!);

        // Over HTTP, as a browser's EventSource resumes.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}") };
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/events/stream");
        request.Headers.Add("Last-Event-ID", Position(all[9]).ToString());
        var (streamed, frames) = await ReadStreamAsync(http, request, untilCaughtUp: true);
        Assert.Equal(Ids(all.Skip(10)).Concat(Ids(after)), Ids(streamed));
        Assert.All(frames.Where(f => f.Event == "event"), f => Assert.Equal(Position(JsonDocument.Parse(f.Data).RootElement).ToString(), f.Id));
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_filter_by_type_entity_and_prefix_and_from_the_end_see_only_new_events(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 1, output);
        var cluster = on.Cluster;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}") };
        foreach (var (entity, type) in new[] { ("f-x-1", "a"), ("f-x-1", "b"), ("f-x-2", "b"), ("f-y-1", "a"), ("f-x-1", "a"), ("f-y-1", "b") })
            await PostAsync(http, entity, type);

        var typeA = await SubscribeAsync(cluster, "--type", "a", "--max", "3");
        Assert.Equal(["f-x-1/a", "f-y-1/a", "f-x-1/a"], typeA.Select(Describe));
        var typesAB = await SubscribeAsync(cluster, "--type", "a", "--type", "b", "--entity", "f-y-1", "--max", "2");
        Assert.Equal(["f-y-1/a", "f-y-1/b"], typesAB.Select(Describe));
        var oneEntity = await SubscribeAsync(cluster, "--entity", "f-x-1", "--max", "3");
        Assert.Equal([1L, 2L, 3L], oneEntity.Select(e => e.GetProperty("version").GetInt64()));
        var prefix = await SubscribeAsync(cluster, "--entity-prefix", "f-x-", "--max", "4");
        Assert.Equal(["f-x-1/a", "f-x-1/b", "f-x-2/b", "f-x-1/a"], prefix.Select(Describe));
        var (streamed, _) = await ReadStreamAsync(http, new HttpRequestMessage(HttpMethod.Get, "/api/events/stream?type=b&entityPrefix=f-y-"),
            untilCaughtUp: true);
        Assert.Equal(["f-y-1/b"], streamed.Select(Describe));

        // A body posted pretty-printed still gives one line per event and one data line per frame.
        var pretty = await http.PostAsync("/api/events", new StringContent("{\n  \"entityId\": \"f-n-1\",\n  \"type\": \"a\",\n  \"data\": {\n    \"k\": 1\n  }\n}",
            Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, pretty.StatusCode);
        var printedPretty = Assert.Single(await SubscribeAsync(cluster, "--entity", "f-n-1", "--max", "1"));
        Assert.Equal(1, printedPretty.GetProperty("data").GetProperty("k").GetInt32());
        var (streamedPretty, _) = await ReadStreamAsync(http, new HttpRequestMessage(HttpMethod.Get, "/api/events/stream?entity=f-n-1"), untilCaughtUp: true);
        Assert.Equal(1, Assert.Single(streamedPretty).GetProperty("data").GetProperty("k").GetInt32());

        await using var fromEnd = SubscriberProcess.Start(cluster.SeedList, "--from", "end", "--max", "1");
        await fromEnd.WaitForStderrAsync("caught up at", TimeSpan.FromSeconds(30));
        await PostAsync(http, "f-z-1", "c");
        Assert.Equal(0, await fromEnd.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Equal(["f-z-1/c"], fromEnd.Events.Select(Describe));

        var history = JsonDocument.Parse(await http.GetStringAsync("/api/entities/f-x-1/events?from=2&limit=1")).RootElement;
        Assert.Equal("f-x-1", history.GetProperty("entityId").GetString());
        Assert.Equal(["f-x-1/b"], history.GetProperty("events").EnumerateArray().Select(Describe));
        var cli = await cluster.ClientAsync("history", "--entity", "f-x-1", "--json");
        Assert.Equal([1L, 2L, 3L], cli.Json["events"]!.AsArray().Select(e => (long)e!["version"]!));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/entities/never-written/events")).StatusCode);
        Assert.Equal(1, (await cluster.ClientAsync("history", "--entity", "never-written")).ExitCode);
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_bound_streams_send_heartbeats_and_disconnect_a_reader_too_slow_for_live_events(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 1, output, "--max-streams", "3", "--stream-buffer", "50", "--stream-heartbeat", "1");
        var cluster = on.Cluster;
        var node = cluster.Nodes[0];
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = Timeout.InfiniteTimeSpan };

        // A slow reader: it reads the response headers, then nothing, with a tiny receive buffer.
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await slow.ConnectAsync(IPAddress.Loopback, node.HttpPort);
        await slow.SendAsync(Encoding.ASCII.GetBytes($"GET /api/events/stream?from=end HTTP/1.1\r\nHost: 127.0.0.1:{node.HttpPort}\r\n\r\n"));
        var headers = new byte[512];
        var got = await slow.ReceiveAsync(headers);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(headers, 0, got));

        // A fast reader following the same events.
        using var fastResponse = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/events/stream?from=end"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", fastResponse.Content.Headers.ContentType?.MediaType);
        var fast = ReadFramesAsync(await fastResponse.Content.ReadAsStreamAsync(), frames => frames.Count(f => f.Event == "event") >= 20000);

        // A third stream takes the last slot: a fourth is refused.
        using var third = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/events/stream?from=end"), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        var heartbeat = ReadFramesAsync(await third.Content.ReadAsStreamAsync(), frames => frames.Any(f => f.Comment == "heartbeat"));
        var refused = await http.GetAsync("/api/events/stream?from=end");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("this node serves 3 streams at most (--max-streams); retry later or on another node", await refused.Content.ReadAsStringAsync());
        await heartbeat.WaitAsync(TimeSpan.FromSeconds(15));

        var load = await cluster.ClientAsync("load", "--events", "20000", "--entities", "1000", "--json");
        Assert.True(load.ExitCode == 0, load.ToString());
        await Poll.UntilAsync(() => node.LinesMatching("Event stream of .* disconnected: too slow").Count > 0, TimeSpan.FromSeconds(60),
            "the node to disconnect the slow reader");
        var frames = await fast.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(20000, frames.Count(f => f.Event == "event"));
        Assert.Equal(0, (int)load.Json["errors"]!);
    }

    [Fact]
    public async Task Should_refuse_bad_listener_input_with_exit_2_before_contacting_the_cluster()
    {
        var nowhere = $"127.0.0.1:{FreePorts.Next()}";
        foreach (var (arguments, message) in new[]
                 {
                     (new[] { "subscribe", "--bogus" }, "Unrecognized command or argument '--bogus'"),
                     (new[] { "subscribe", "--from", "-5" }, "--from '-5' must be start, end or a position"),
                     (new[] { "subscribe", "--from", "first" }, "--from 'first' must be start, end or a position"),
                     (new[] { "subscribe", "--type", "bad type" }, "event type 'bad type' contains ' '"),
                     (new[] { "subscribe", "--entity", "a", "--entity-prefix", "b" }, "give --entity or --entity-prefix, not both"),
                     (new[] { "subscribe", "--entity-prefix", "x/y" }, "entity prefix 'x/y' contains '/'"),
                     (new[] { "subscribe", "--group", "no spaces" }, "group name 'no spaces' contains ' '"),
                     (new[] { "subscribe", "--max", "0" }, "--max '0' must be a whole number"),
                     (new[] { "history", "--entity", "a", "--limit", "1001" }, "--limit '1001' must be a whole number from 1 to 1000"),
                     (new[] { "history", "--entity", "a", "--from", "0" }, "--from '0' must be a whole number"),
                     (new[] { "history" }, "Option '--entity' is required"),
                     (new[] { "groups", "--max", "3" }, "Unrecognized command or argument '--max'"),
                 })
        {
            var run = await ClientRun.RunAsync([.. arguments, "--seeds", nowhere, "--timeout", "5"]);
            Assert.True(run.ExitCode == 2, $"{string.Join(" ", arguments)}: {run}");
            Assert.Contains(message, run.Stderr);
            Assert.Equal("", run.Stdout);
        }
    }

    [Fact]
    public async Task Should_refuse_a_body_that_is_not_json_and_never_name_a_dotnet_type()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}") };

        var plain = await http.PostAsync("/api/events", new StringContent("""{"entityId":"enc-1","type":"t"}""", Encoding.UTF8, "text/plain"));
        var invalidUtf8 = new ByteArrayContent([.. Encoding.ASCII.GetBytes("{\"entityId\":\"enc-"), 0xff, 0xfe, .. Encoding.ASCII.GetBytes("\",\"type\":\"t\"}")]);
        invalidUtf8.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var garbled = await http.PostAsync("/api/events", invalidUtf8);
        var unknownField = await http.PostAsync("/api/events", new StringContent("""{"entityId":"enc-1","type":"t","x":1}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, plain.StatusCode);
        Assert.Contains("application/json", await plain.Content.ReadAsStringAsync());
        foreach (var response in new[] { garbled, unknownField })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
            output.WriteLine(detail);
            Assert.DoesNotContain("EventCluster.", detail);
            Assert.DoesNotContain("System.", detail);
            Assert.DoesNotContain(".NET", detail);
        }

        Assert.Contains("not valid UTF-8", await garbled.Content.ReadAsStringAsync());
        Assert.Contains("unknown field at $.x", await unknownField.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/entities/enc-1/events")).StatusCode);
    }

    private static async Task<List<JsonElement>> SubscribeAsync(LocalCluster cluster, params string[] arguments)
    {
        var run = await cluster.ClientAsync(["subscribe", "--json", .. arguments]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
    }

    private static async Task<long> GroupPositionAsync(LocalCluster cluster, string group)
    {
        var groups = (await cluster.ClientAsync("groups", "--json")).Json["groups"]!.AsArray();
        return groups.Where(g => (string)g!["name"]! == group).Select(g => (long)g!["position"]!).FirstOrDefault(-1);
    }

    private static async Task PostAsync(HttpClient http, string entity, string type)
    {
        var response = await http.PostAsync("/api/events",
            new StringContent($$"""{"entityId":"{{entity}}","type":"{{type}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static long Position(JsonElement e) => e.GetProperty("position").GetInt64();

    private static IEnumerable<string> Ids(IEnumerable<JsonElement> events) => events.Select(e => e.GetProperty("eventId").GetString()!).ToList();

    private static string Describe(JsonElement e) => $"{e.GetProperty("entityId").GetString()}/{e.GetProperty("type").GetString()}";

    private static IEnumerable<string> AckedIds(string file) =>
        File.ReadLines(file).Where(line => line.Length > 0).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("eventId").GetString()!);

    private static IEnumerable<KeyValuePair<string, long>> AckedPositions(string file) =>
        File.ReadLines(file).Where(line => line.Length > 0).Select(line => JsonDocument.Parse(line).RootElement)
            .Select(e => KeyValuePair.Create(e.GetProperty("eventId").GetString()!, e.GetProperty("position").GetInt64()));

    /// <summary>The events of a stream up to its caught-up frame, and every frame read.</summary>
    private static async Task<(List<JsonElement> Events, List<Frame> Frames)> ReadStreamAsync(HttpClient http, HttpRequestMessage request, bool untilCaughtUp)
    {
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var frames = await ReadFramesAsync(await response.Content.ReadAsStreamAsync(), all => untilCaughtUp && all.Any(f => f.Event == "caught-up"))
            .WaitAsync(TimeSpan.FromSeconds(30));
        return (frames.Where(f => f.Event == "event").Select(f => JsonDocument.Parse(f.Data).RootElement.Clone()).ToList(), frames);
    }

    /// <summary>Reads Server-Sent Event frames until <paramref name="done"/> holds.</summary>
    private static async Task<List<Frame>> ReadFramesAsync(Stream stream, Func<List<Frame>, bool> done)
    {
        var frames = new List<Frame>();
        using var reader = new StreamReader(stream);
        string? id = null, name = null, comment = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                frames.Add(new Frame(id, name, data.ToString(), comment));
                (id, name, comment) = (null, null, null);
                data.Clear();
                if (done(frames))
                    return frames;
                continue;
            }

            if (line.StartsWith(':'))
                comment = line[1..].Trim();
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
                id = line[4..];
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
                name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
                data.Append(line[6..]);
        }

        return frames;
    }

    private sealed record Frame(string? Id, string? Event, string Data, string? Comment);
}
