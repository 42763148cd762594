using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// A rolling upgrade: a three-node cluster of the previous release (<see cref="PreviousRelease"/>),
/// under load, has its nodes replaced one at a time by this build, each by a graceful leave and a
/// start on the same ports and journal. Nothing acknowledged is lost or doubled, batches sent while
/// old members host their shards are stored, no node refuses the other release's messages, and a
/// subscription and a webhook that were running before the roll see every event.
/// </summary>
public sealed class RollingUpgradeSpecs(ITestOutputHelper output)
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    // What a node logs when it cannot read a message of another release: Akka.Remote's "Failed to
    // deserialize" and the serializer's own refusal of an unknown manifest.
    private const string SerializationFailure = "(?i)deserializ|unknown manifest|SerializationException|serializer .* does not know";

    // The default load (1,000 entities, 256 in flight), paced so that each round lasts about 8 s.
    private const int RoundEvents = 4000;
    private const int RoundRate = 500;

    // Events acknowledged between two steps of the roll: each cluster state (mixed or not) is loaded.
    private const int EventsPerStep = 1500;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_replace_every_node_of_a_previous_release_one_at_a_time_under_load_with_nothing_lost_doubled_or_refused(
        string database)
    {
        var release = await PreviousRelease.NodeAsync();
        Prerequisites.SkipIfMissing(release.Missing is null ? null : $"{release.Missing}, to build the previous release", output);
        output.WriteLine(release.BuildTime == TimeSpan.Zero
            ? $"previous release {release.Commit[..7]}: cached build reused"
            : $"previous release {release.Commit[..7]}: built in {release.BuildTime.TotalSeconds:0.0}s (once for the run)");

        var clock = Stopwatch.StartNew();
        using var receiver = new WebhookReceiver();
        await using var on = await ClusterOn.StartAsync(database, 3, output, WebhookReceiver.NodeArguments, release.NodeDll);
        var cluster = on.Cluster;
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0}s: three nodes of the previous release Up");
        var prefix = $"roll-{Guid.NewGuid():N}"[..13] + "-";
        var added = await cluster.ClientAsync("webhooks", "add", "--name", "roll", "--url", receiver.Url, "--entity-prefix", prefix,
            "--from", "start");
        Assert.True(added.ExitCode == 0, added.ToString());
        await using var subscriber = SubscriberProcess.Start(cluster.SeedList, "--from", "start", "--entity-prefix", prefix);
        await subscriber.WaitForStderrAsync("caught up", TimeSpan.FromSeconds(30));

        using var rolled = new CancellationTokenSource();
        var load = LoadUntilAsync(cluster, prefix, rolled.Token);
        var batches = new List<string>();
        try
        {
            await load.AcknowledgedAsync(EventsPerStep);
            // This build's client sends its batches to a cluster of the previous release, which reads none.
            batches.Add(await SendFileAsync(cluster, prefix, batches.Count));
            // The last started first and the oldest (the shard coordinator and the webhook
            // singleton) last, as a StatefulSet rolls its pods.
            foreach (var old in cluster.Nodes.ToList().AsEnumerable().Reverse())
            {
                var step = Stopwatch.StartNew();
                old.Terminate();
                Assert.Equal(0, await old.WaitForExitAsync(TimeSpan.FromSeconds(60)));
                var left = step.Elapsed;
                cluster.NodeDll = null;
                var replacement = cluster.StartNode(old.Port);
                await cluster.WaitForMembersUpAsync(3, TimeSpan.FromSeconds(90));
                output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0}s: {old.Endpoint} left in {left.TotalSeconds:0.0}s, " +
                                 $"the new release Up {step.Elapsed.TotalSeconds:0.0}s after the leave started");

                // While old members still host shards, a batch through the new node's HTTP API
                // reaches entities on both releases.
                if (cluster.Running.Any(n => cluster.Nodes.IndexOf(n) < 3))
                {
                    batches.Add(await PostBatchAsync(replacement, prefix, cluster.ScratchPath, batches.Count, "releases mixed"));
                    batches.Add(await SendFileAsync(cluster, prefix, batches.Count));
                }
                await load.AcknowledgedAsync(load.Acknowledged + EventsPerStep);
            }
        }
        finally
        {
            rolled.Cancel();
        }

        // Every member announces that it reads batches now: they go to their entities as groups again.
        var members = (await LocalCluster.MembersSeenByAsync(cluster.Running[0]))!.AsArray();
        Assert.All(members, m => Assert.Contains("reads-batches", m!["roles"]!.AsArray().Select(r => (string?)r)));
        batches.Add(await PostBatchAsync(cluster.Running[0], prefix, cluster.ScratchPath, batches.Count, "all new"));

        var rounds = await load.Rounds;
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0}s: roll done; {rounds.Count} load rounds");
        foreach (var (_, run) in rounds)
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal(RoundEvents, (int)run.Json["acknowledged"]!);
        }

        var acked = Path.Combine(cluster.ScratchPath, "all.jsonl");
        await File.WriteAllLinesAsync(acked, rounds.SelectMany(r => File.ReadLines(r.Acked)).Concat(batches.SelectMany(File.ReadLines)));
        await File.WriteAllLinesAsync(acked + ".sent",
            rounds.SelectMany(r => File.ReadLines(r.Acked + ".sent")).Concat(batches.SelectMany(File.ReadLines)));
        var expected = File.ReadLines(acked).Select(EventIdOf).ToList();
        await cluster.AssertVerifiedAsync(acked, expected.Count);

        // The subscription that started on the old release saw every event once, in position order.
        await subscriber.WaitForEventsAsync(expected.Count, TimeSpan.FromSeconds(60));
        var seen = subscriber.Events;
        Assert.Equal(expected.Count, seen.Count);
        Assert.Equal(expected.ToHashSet(), seen.Select(e => e.GetProperty("eventId").GetString()!).ToHashSet());
        var positions = seen.Select(e => e.GetProperty("position").GetInt64()).ToList();
        Assert.True(positions.Zip(positions.Skip(1)).All(pair => pair.Item1 < pair.Item2), "subscription positions not increasing");

        // The webhook, moved with its singleton from the oldest old node to a new one, delivered every event.
        var missing = expected.ToHashSet();
        await Poll.UntilAsync(() =>
        {
            missing.ExceptWith(receiver.Confirmed.Select(d => d.EventId));
            return missing.Count == 0;
        }, TimeSpan.FromSeconds(60), $"every event delivered to the webhook ({missing.Count} missing)");
        output.WriteLine($"webhook: {receiver.Confirmed.Count} deliveries of {expected.Count} events");

        var refusals = cluster.Nodes.SelectMany(n => n.LinesMatching(SerializationFailure).Select(line => $"{n.Endpoint}: {line}")).ToList();
        Assert.True(refusals.Count == 0, string.Join("\n", refusals.Take(20)));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0}s in all; {expected.Count} events, {batches.Count} batches");
    }

    /// <summary>
    /// Posts a batch of 600 events, three for each of 200 entities, to <paramref name="node"/>'s
    /// HTTP API and asserts that each is stored; returns the file of their acknowledgements (for
    /// verify). Events answered <c>notStored</c> or <c>unanswered</c> (no answer within 10 s, as a
    /// shard moving between releases on busy cores can take) are sent again with the same ids, as
    /// the README tells batch clients to: then each is accepted, or a duplicate when the first
    /// attempt had stored it, and never anything else.
    /// </summary>
    private async Task<string> PostBatchAsync(NodeProcess node, string prefix, string directory, int number, string when)
    {
        var events = Enumerable.Range(0, 600)
            .Select(i => new JsonObject { ["entityId"] = $"{prefix}{i % 200 * 5}", ["type"] = "batched", ["eventId"] = $"batch{number}-{i}" })
            .ToList();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        var final = new Dictionary<string, JsonNode>();
        var pending = events;
        TimeSpan? retryAfter = null;
        for (var attempt = 1; pending.Count > 0; attempt++)
        {
            Assert.True(attempt <= 5, $"{pending.Count} events of batch {number} still unanswered after 4 resends");
            var clock = Stopwatch.StartNew();
            using var response = await http.PostAsync("/api/events/batch",
                new StringContent(string.Join("\n", pending.Select(e => e.ToJsonString())), Encoding.UTF8, "application/x-ndjson"));
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            retryAfter = response.Headers.RetryAfter?.Delta;
            var results = body["results"]!.AsArray();
            var again = results.Where(r => (string?)r!["status"] is "unanswered" or "notStored").Select(r => (string)r!["eventId"]!).ToHashSet();
            output.WriteLine($"batch {number}, attempt {attempt}: {pending.Count} events through {node.Endpoint} ({when}) answered in " +
                             $"{clock.Elapsed.TotalMilliseconds:0} ms, {again.Count} to send again");
            foreach (var result in results.Where(r => !again.Contains((string)r!["eventId"]!)))
            {
                Assert.True((string?)result!["status"] is "accepted" || attempt > 1 && (string?)result["status"] == "duplicate", body.ToJsonString());
                final[(string)result["eventId"]!] = result;
            }
            pending = pending.Where(e => again.Contains((string)e["eventId"]!)).ToList();
            if (pending.Count > 0)
            {
                // A client honours the answer's Retry-After (1 s whenever an event is unanswered).
                Assert.NotNull(retryAfter);
                await Task.Delay(retryAfter.Value);
            }
        }

        var file = Path.Combine(directory, $"batch-{number}.jsonl");
        await File.WriteAllLinesAsync(file, events.Select(e => final[(string)e["eventId"]!]).Select(r => new JsonObject
        {
            ["entityId"] = (string)r["entityId"]!,
            ["eventId"] = (string)r["eventId"]!,
            ["position"] = (long)r["position"]!,
        }.ToJsonString()));
        return file;
    }

    /// <summary>
    /// Sends 300 events, one per entity, with <c>send --file</c> and asserts that each is
    /// acknowledged; returns the file of their acknowledgements.
    /// </summary>
    private async Task<string> SendFileAsync(LocalCluster cluster, string prefix, int number)
    {
        var events = Path.Combine(cluster.ScratchPath, $"file-{number}.ndjson");
        await File.WriteAllLinesAsync(events, Enumerable.Range(0, 300)
            .Select(i => new JsonObject { ["entityId"] = $"{prefix}{i * 3 + 1}", ["type"] = "filed", ["eventId"] = $"file{number}-{i}" }.ToJsonString()));
        var acked = Path.Combine(cluster.ScratchPath, $"file-{number}.jsonl");
        var clock = Stopwatch.StartNew();
        var sent = await cluster.ClientAsync("send", "--file", events, "--acked", acked, "--json");
        output.WriteLine($"send --file {number} of 300 events took {clock.Elapsed.TotalSeconds:0.0}s (the client's start included)");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.Equal(300, (int)sent.Json["acknowledged"]!);
        return acked;
    }

    private static string EventIdOf(string ackedLine) => JsonDocument.Parse(ackedLine).RootElement.GetProperty("eventId").GetString()!;

    /// <summary>Rounds of the default load, one after another, until <paramref name="stop"/>; each writes its own acked file.</summary>
    private static RoundsOfLoad LoadUntilAsync(LocalCluster cluster, string prefix, CancellationToken stop) => new(cluster, prefix, stop);

    private sealed class RoundsOfLoad
    {
        private readonly List<string> _files = [];

        public RoundsOfLoad(LocalCluster cluster, string prefix, CancellationToken stop) => Rounds = RunAsync(cluster, prefix, stop);

        /// <summary>Each round's acked file and run, once the rounds are over.</summary>
        public Task<List<(string Acked, ClientRun Run)>> Rounds { get; }

        /// <summary>Events acknowledged so far, over every round.</summary>
        public int Acknowledged
        {
            get
            {
                lock (_files)
                    return _files.Where(File.Exists).Sum(file => File.ReadLines(file).Count());
            }
        }

        /// <summary>Waits until <paramref name="count"/> events were acknowledged.</summary>
        public Task AcknowledgedAsync(int count) =>
            Poll.UntilAsync(() => Rounds.IsCompleted || Acknowledged >= count, TimeSpan.FromSeconds(90), $"{count} events acknowledged");

        private async Task<List<(string, ClientRun)>> RunAsync(LocalCluster cluster, string prefix, CancellationToken stop)
        {
            var rounds = new List<(string, ClientRun)>();
            while (!stop.IsCancellationRequested)
            {
                var acked = Path.Combine(cluster.ScratchPath, $"round-{rounds.Count}.jsonl");
                lock (_files)
                    _files.Add(acked);
                var run = await cluster.ClientAsync("load", "--events", RoundEvents.ToString(), "--entities", "1000", "--concurrency", "256",
                    "--rate", RoundRate.ToString(), "--entity-prefix", prefix, "--acked", acked, "--json");
                rounds.Add((acked, run));
                if (run.ExitCode != 0)
                    break;
            }

            return rounds;
        }
    }
}
