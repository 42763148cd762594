using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Webhook subscriptions with real nodes, the real client and a real HTTP receiver, on SQLite and
/// on PostgreSQL: delivery through a crash and a leave of the runner's node, retries, parking and
/// replay, signatures, and the management API's rules.
/// </summary>
public sealed class WebhookSpecs(ITestOutputHelper output)
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_deliver_every_acknowledged_event_in_entity_order_through_a_runner_crash_and_a_leave(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 3, output, WebhookReceiver.NodeArguments);
        try
        {
            await DeliverThroughCrashAndLeaveAsync(on.Cluster, database);
        }
        catch
        {
            // What the nodes said about running webhooks, for the failure report.
            foreach (var node in on.Cluster.Nodes)
                foreach (var line in node.LinesMatching("Webhook|[Ss]ingleton|Oldest|oldest"))
                    output.WriteLine($"{node.Endpoint}: {line}");
            throw;
        }
    }

    private async Task DeliverThroughCrashAndLeaveAsync(LocalCluster cluster, string database)
    {
        using var receiver = new WebhookReceiver();
        // The runner is the oldest node, the first seed; after it crashes and the next one leaves,
        // only the third is left, so the client is given every node as a contact.
        var contacts = string.Join(",", cluster.Nodes.Select(n => n.Endpoint));
        Task<ClientRun> Client(params string[] arguments) => ClientRun.RunAsync([.. arguments, "--seeds", contacts]);
        var added = await Client("webhooks", "add", "--name", "all", "--url", receiver.Url, "--from", "end", "--json");
        Assert.True(added.ExitCode == 0, added.ToString());

        var crashed = Path.Combine(cluster.ScratchPath, "crash.jsonl");
        var firstLoad = Client("load", "--events", "6000", "--entities", "1000", "--acked", crashed, "--json");
        await Poll.UntilAsync(() => receiver.Confirmed.Count >= 1000, TimeSpan.FromSeconds(90), "1,000 deliveries before the crash");
        var runner = await RunnerAsync(cluster, contacts);
        output.WriteLine($"runner before the crash: {runner.Endpoint}");
        var killing = DateTime.UtcNow;
        runner.Kill();
        // Kill returns once the process is gone; the receiver may still be reading its last
        // requests for a moment, and a survivor takes over only seconds later.
        var killedAt = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        var first = await firstLoad;
        Assert.True(first.ExitCode == 0, first.ToString());
        // Detecting and downing the crash takes about 10 s; with other specs' clusters on the same
        // two cores the singleton's move can take several times that. The deadline guards a hang.
        await Poll.UntilAsync(async () => (await RunnerAsync(cluster, contacts)) != runner, TimeSpan.FromSeconds(90), "a survivor to run the subscription");

        var left = Path.Combine(cluster.ScratchPath, "leave.jsonl");
        var secondLoad = Client("load", "--events", "6000", "--entities", "1000", "--acked", left, "--json");
        await Poll.UntilAsync(() => receiver.Confirmed.Count >= 8000, TimeSpan.FromSeconds(90), "deliveries of the second load");
        var leaving = await RunnerAsync(cluster, contacts);
        output.WriteLine($"runner leaving: {leaving.Endpoint}");
        var leavingAt = DateTime.UtcNow;
        leaving.Terminate();
        await leaving.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var leftAt = DateTime.UtcNow;
        var second = await secondLoad;
        Assert.True(second.ExitCode == 0, second.ToString());

        var acked = File.ReadLines(crashed).Concat(File.ReadLines(left)).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("eventId").GetString()!)
            .ToHashSet();
        await Poll.UntilAsync(() => acked.IsSubsetOf(receiver.Confirmed.Select(d => d.EventId)), TimeSpan.FromSeconds(90),
            "every acknowledged event delivered");
        var confirmed = receiver.Confirmed;
        var repeats = confirmed.Count - confirmed.Select(d => d.EventId).Distinct().Count();
        output.WriteLine($"{database}: {acked.Count} acknowledged, {confirmed.Count} deliveries, {repeats} repeats");
        Assert.Equal(12000, acked.Count);
        AssertEntityOrder(confirmed);
        // What each hand-over can repeat: what the runner delivered after its last stored
        // position. The leaving runner stores its position as it stops; the bound for it is the
        // crash's, over the time from its last checkpoint before the leave until its node exited.
        // An event repeated in both hand-overs counts once in each.
        var crashRepeats = RepeatsAcross(confirmed, killedAt);
        var crashBound = RepeatBound(confirmed, killing - CheckpointWindow, killedAt);
        var leaveBound = RepeatBound(confirmed, leavingAt - CheckpointWindow, leftAt);
        output.WriteLine($"{database}: {crashRepeats} repeats after the crash (bound {crashBound}), {repeats - crashRepeats} after the leave (bound {leaveBound})");
        Assert.InRange(crashRepeats, 0, crashBound);
        Assert.InRange(repeats - crashRepeats, 0, leaveBound);
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_repeat_at_most_about_a_second_of_deliveries_when_the_runners_node_is_killed_during_a_load(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 3, output, WebhookReceiver.NodeArguments);
        var cluster = on.Cluster;
        using var receiver = new WebhookReceiver();
        var contacts = string.Join(",", cluster.Nodes.Select(n => n.Endpoint));
        Task<ClientRun> Client(params string[] arguments) => ClientRun.RunAsync([.. arguments, "--seeds", contacts]);
        var added = await Client("webhooks", "add", "--name", "orders", "--url", receiver.Url, "--from", "end", "--json");
        Assert.True(added.ExitCode == 0, added.ToString());

        var runner = await RunnerAsync(cluster, contacts);
        var ackedFile = Path.Combine(cluster.ScratchPath, "acked.jsonl");
        // 500 events/s: the load lasts 6 s, so a second of deliveries is well short of what was
        // delivered before the kill, and a position stored late would show.
        var load = Client("load", "--events", "3000", "--rate", "500", "--acked", ackedFile, "--json");
        await Poll.UntilAsync(() => receiver.Confirmed.Count >= 1500, TimeSpan.FromSeconds(90), "1,500 deliveries before the crash");
        Assert.False(load.IsCompleted, "the load ended before the kill");
        var killing = DateTime.UtcNow;
        runner.Kill();
        // Kill returns once the process is gone; the receiver may still be reading its last
        // requests for a moment, and a survivor takes over only seconds later.
        var killedAt = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        var loaded = await load;
        Assert.True(loaded.ExitCode == 0, loaded.ToString());

        var acked = File.ReadLines(ackedFile).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("eventId").GetString()!).ToHashSet();
        Assert.Equal(3000, acked.Count);
        await Poll.UntilAsync(() => acked.IsSubsetOf(receiver.Confirmed.Select(d => d.EventId)), TimeSpan.FromSeconds(90),
            "every acknowledged event delivered");
        var confirmed = receiver.Confirmed;
        AssertEntityOrder(confirmed);
        var repeats = confirmed.Count - confirmed.Select(d => d.EventId).Distinct().Count();
        var bound = RepeatBound(confirmed, killing - CheckpointWindow, killedAt);
        output.WriteLine($"{database}: {confirmed.Count(d => d.At <= killedAt)} deliveries before the kill, {repeats} repeats (bound {bound})");
        Assert.Equal(repeats, RepeatsAcross(confirmed, killedAt));
        Assert.InRange(repeats, 0, bound);
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_retry_a_receiver_that_fails_for_ten_seconds_and_park_nothing(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 1, output, WebhookReceiver.NodeArguments);
        var cluster = on.Cluster;
        using var receiver = new WebhookReceiver();
        DateTime? failingSince = null;
        receiver.Answer = _ =>
        {
            failingSince ??= DateTime.UtcNow;
            return DateTime.UtcNow - failingSince < TimeSpan.FromSeconds(10) ? 500 : 200;
        };
        Assert.Equal(0, (await cluster.ClientAsync("webhooks", "add", "--name", "flaky", "--url", receiver.Url)).ExitCode);
        var acked = Path.Combine(cluster.ScratchPath, "acked.jsonl");
        Assert.Equal(0, (await cluster.ClientAsync("load", "--events", "50", "--entities", "10", "--acked", acked)).ExitCode);

        var ids = File.ReadLines(acked).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("eventId").GetString()!).ToHashSet();
        await Poll.UntilAsync(() => ids.IsSubsetOf(receiver.Confirmed.Select(d => d.EventId)), TimeSpan.FromSeconds(90),
            "every event delivered once the receiver recovers");
        Assert.Contains(receiver.Deliveries, d => d.Status == 500);
        var shown = await ShowAsync(cluster, "flaky");
        Assert.Equal(0, (long)shown["subscription"]!["parked"]!);
        Assert.True((long)shown["subscription"]!["retries"]! > 0);
        Assert.Contains("HTTP 500", (string?)shown["subscription"]!["lastError"]);
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_park_what_the_receiver_refuses_for_one_entity_deliver_the_others_and_replay_them_once_fixed(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 1, output, WebhookReceiver.NodeArguments);
        var cluster = on.Cluster;
        using var receiver = new WebhookReceiver();
        var broken = true;
        receiver.Answer = delivery => broken && delivery.EntityId == "parcel-bad" ? 400 : 200;
        Assert.Equal(0, (await cluster.ClientAsync("webhooks", "add", "--name", "parcels", "--url", receiver.Url, "--entity-prefix", "parcel-")).ExitCode);
        // This node has no secrets key: a secret is refused (400, exit 2) rather than stored in plain text.
        var keyless = await cluster.ClientAsync("webhooks", "add", "--name", "keyless", "--url", receiver.Url, "--secret", "s3cret", "--from", "end");
        Assert.True(keyless.ExitCode == 2 && keyless.Stderr.Contains("--secrets-key-file"), keyless.ToString());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}") };
        foreach (var entity in new[] { "parcel-ok-1", "parcel-bad", "parcel-ok-2", "parcel-bad", "other-1", "parcel-ok-1", "parcel-bad" })
            await PostAsync(http, entity);

        await Poll.UntilAsync(async () => (long)(await ShowAsync(cluster, "parcels"))["subscription"]!["parked"]! == 3, TimeSpan.FromSeconds(60),
            "the refused entity's three events parked");
        var shown = await ShowAsync(cluster, "parcels");
        Assert.Equal([1L, 2L, 3L], shown["parkedEvents"]!.AsArray().Select(p => (long)p!["version"]!));
        Assert.All(shown["parkedEvents"]!.AsArray(), p => Assert.Contains("HTTP 400", (string)p!["lastError"]!));
        Assert.Equal(["parcel-ok-1", "parcel-ok-1", "parcel-ok-2"], receiver.Confirmed.Select(d => d.EntityId).Order());
        Assert.DoesNotContain(receiver.Deliveries, d => d.EntityId == "other-1");

        broken = false;
        var replay = await cluster.ClientAsync("webhooks", "replay-parked", "--name", "parcels");
        Assert.True(replay.ExitCode == 0, replay.ToString());
        await Poll.UntilAsync(() => receiver.Confirmed.Count(d => d.EntityId == "parcel-bad") == 3, TimeSpan.FromSeconds(60), "the parked events replayed");
        Assert.Equal([1L, 2L, 3L], receiver.Confirmed.Where(d => d.EntityId == "parcel-bad").Select(d => d.Version));
        await Poll.UntilAsync(async () => (long)(await ShowAsync(cluster, "parcels"))["subscription"]!["parked"]! == 0, TimeSpan.FromSeconds(30),
            "the parked list emptied");
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_sign_deliveries_never_show_the_secret_and_refuse_bad_definitions(string database)
    {
        const string secret = "s3cret-never-shown";
        const string token = "t0ken";
        await using var on = await ClusterOn.StartAsync(database, 1, output,
            ["--api-token", token, "--secrets-key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), .. WebhookReceiver.NodeArguments]);
        var cluster = on.Cluster;
        var node = cluster.Nodes[0];
        using var receiver = new WebhookReceiver();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}") };
        var body = $$"""{"name":"signed","url":"{{receiver.Url}}","types":["seen"],"secret":"{{secret}}","maxAttempts":3,"concurrency":4}""";

        var anonymous = await http.PostAsync("/api/subscriptions", Json(body));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var created = await http.PostAsync("/api/subscriptions", Json(body));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsync("/api/subscriptions", Json(body))).StatusCode);
        foreach (var (bad, rule) in new[]
                 {
                     ("""{"name":"x1","url":"ftp://127.0.0.1/hook"}""", "absolute http or https URL"),
                     ("""{"name":"x2","url":"not a url"}""", "absolute http or https URL"),
                     // Loopback, but not the 127.0.0.1 of the node's exceptions.
                     ("""{"name":"x3","url":"http://[::1]:1/hook","from":"end","types":["never"]}""", "loopback address, which webhooks may not reach"),
                     ("""{"name":"bad name","url":"http://127.0.0.1:1/hook"}""", "subscription name"),
                     ("""{"name":"x4","url":"http://127.0.0.1:1/hook","colour":"red"}""", "unknown field"),
                     ("""{"name":"x5","url":"http://127.0.0.1:1/hook","from":"yesterday"}""", "from"),
                     ("""{"name":"x6","url":"http://127.0.0.1:1/hook","concurrency":0}""", "concurrency"),
                 })
        {
            var response = await http.PostAsync("/api/subscriptions", Json(bad));
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{bad}: {response.StatusCode}");
            Assert.Contains(rule, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await http.PostAsync("/api/subscriptions", new StringContent(body, Encoding.UTF8, "text/plain"))).StatusCode);
        await PostAsync(http, "signed-1", "seen");
        await PostAsync(http, "signed-1", "ignored");
        await Poll.UntilAsync(() => receiver.Confirmed.Count >= 1, TimeSpan.FromSeconds(30), "the delivery");

        var delivery = Assert.Single(receiver.Confirmed);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), delivery.Body));
        Assert.Equal(expected, delivery.Headers["EventCluster-Signature"]);
        Assert.Equal("signed", delivery.Headers["EventCluster-Subscription"]);
        Assert.Equal(delivery.EventId, delivery.Headers["EventCluster-Event-Id"]);
        Assert.Equal(delivery.Position.ToString(), delivery.Headers["EventCluster-Position"]);
        var eventJson = JsonDocument.Parse(delivery.Body).RootElement;
        Assert.Equal(["entityId", "version", "position", "eventId", "type", "data", "at"], eventJson.EnumerateObject().Select(p => p.Name));

        var shown = new[]
        {
            await http.GetStringAsync("/api/subscriptions"),
            await http.GetStringAsync("/api/subscriptions/signed"),
            (await cluster.ClientAsync("webhooks", "list", "--json", "--api-token", token)).Stdout,
            (await cluster.ClientAsync("webhooks", "show", "--name", "signed", "--api-token", token)).Stdout,
        };
        Assert.Contains("\"hasSecret\":true", shown[1]);
        Assert.All(shown, text => Assert.DoesNotContain(secret, text));
        Assert.Equal(1, (await cluster.ClientAsync("webhooks", "list")).ExitCode);
        Assert.DoesNotContain(node.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        await Poll.UntilAsync(async () => (await http.GetStringAsync("/metrics")).Contains("eventcluster_webhook_delivered_total{subscription=\"signed\"} 1"),
            TimeSpan.FromSeconds(30), "the delivery counted in /metrics");
        Assert.DoesNotContain(secret, await http.GetStringAsync("/metrics"));

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/api/subscriptions/signed")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/subscriptions/signed")).StatusCode);
    }

    /// <summary>
    /// How long before a hand-over deliveries may be repeated: the runner stores its position
    /// every second, and a store takes a moment to write.
    /// </summary>
    private static readonly TimeSpan CheckpointWindow = TimeSpan.FromSeconds(1.5);

    /// <summary>Each version arrives after every earlier one has arrived at least once (repeats allowed).</summary>
    private static void AssertEntityOrder(IReadOnlyList<Delivery> confirmed) =>
        Assert.All(confirmed.GroupBy(d => d.EntityId), entity =>
        {
            var highest = 0L;
            foreach (var delivery in entity)
            {
                Assert.True(delivery.Version <= highest + 1, $"{entity.Key}: v{delivery.Version} arrived after v{highest}");
                highest = Math.Max(highest, delivery.Version);
            }
        });

    /// <summary>Events delivered (confirmed) both before and after <paramref name="handOver"/>.</summary>
    private static int RepeatsAcross(IReadOnlyList<Delivery> confirmed, DateTime handOver) =>
        confirmed.GroupBy(d => d.EventId).Count(e => e.Any(d => d.At <= handOver) && e.Any(d => d.At > handOver));

    /// <summary>
    /// The most a hand-over may repeat: the deliveries from <paramref name="from"/> (the last
    /// checkpoint at the latest) until the runner stopped, and the events in flight, one per
    /// entity worker (the subscription's concurrency, 16 by default).
    /// </summary>
    private static int RepeatBound(IReadOnlyList<Delivery> confirmed, DateTime from, DateTime until) =>
        confirmed.Count(d => d.At > from && d.At <= until) + 16;

    /// <summary>The node running the subscriptions, as the subscription shows it.</summary>
    private static async Task<NodeProcess> RunnerAsync(LocalCluster cluster, string contacts)
    {
        NodeProcess? runner = null;
        await Poll.UntilAsync(async () =>
        {
            var list = await ClientRun.RunAsync(["webhooks", "list", "--json", "--timeout", "10", "--seeds", contacts]);
            var address = list.ExitCode == 0 ? (string?)list.Json["subscriptions"]![0]!["runner"] : null;
            runner = address is null ? null : cluster.Running.FirstOrDefault(n => address.EndsWith($"@{n.Endpoint}", StringComparison.Ordinal));
            return runner is not null;
        }, TimeSpan.FromSeconds(60), "the subscription to show a running node as its runner");
        return runner!;
    }

    private static async Task<JsonNode> ShowAsync(LocalCluster cluster, string name)
    {
        var run = await cluster.ClientAsync("webhooks", "show", "--name", name, "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Json;
    }

    private static async Task PostAsync(HttpClient http, string entity, string type = "t")
    {
        var response = await http.PostAsync("/api/events", Json($$"""{"entityId":"{{entity}}","type":"{{type}}"}"""));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
