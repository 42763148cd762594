using System.Collections.Concurrent;
using EventCluster.Client;
using EventCluster.Client.Subscriptions;
using EventCluster.Client.Webhooks;
using EventCluster.Messages.Subscriptions;
using EventCluster.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The .NET client library against real node processes: what an application calling
/// <see cref="EventClusterClient"/> from its own code relies on.
/// </summary>
public sealed class ClientLibrarySpecs(ITestOutputHelper output)
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_store_every_event_once_and_hand_each_to_a_subscriber_once_in_order_through_a_crash(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 3, output);
        var cluster = on.Cluster;
        // A send's overall deadline guards a hang here, not the fail-over's speed (CrashFailoverSpecs
        // times that): this spec's niced nodes may wait for the cores while a timing-sensitive spec runs.
        await using var client = new EventClusterClient(new EventClusterClientOptions { Seeds = cluster.Seeds.ToList(), Timeout = TimeSpan.FromSeconds(90) });
        var prefix = $"lib-{Guid.NewGuid():N}-";

        // A subscriber in this process, following the log from the start.
        using var stopSubscriber = new CancellationTokenSource();
        var received = new ConcurrentQueue<EventRecord>();
        var caughtUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = Task.Run(async () =>
        {
            var options = new SubscribeOptions
            {
                EntityPrefix = prefix,
                OnNotice = notice =>
                {
                    if (notice.Kind == SubscriptionNoticeKind.CaughtUp)
                        caughtUp.TrySetResult();
                },
            };
            try
            {
                await foreach (var record in client.SubscribeAsync(options, stopSubscriber.Token))
                    received.Enqueue(record);
            }
            catch (OperationCanceledException) when (stopSubscriber.IsCancellationRequested)
            {
                // Stopped by the spec.
            }
        });
        await caughtUp.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // The default load through the library: 1,000 entities, 256 in flight; a node is killed
        // once 1,500 events are acknowledged.
        const int events = 6000;
        var acked = new ConcurrentDictionary<string, long>();
        using var inFlight = new SemaphoreSlim(256);
        var sends = Enumerable.Range(0, events).Select(async i =>
        {
            await inFlight.WaitAsync();
            try
            {
                // A retry after a lost acknowledgement (the crash) is answered as a duplicate,
                // with the position the event was first stored at.
                var ack = await client.SendAsync($"{prefix}{i % 1000}", "deposit", new { seq = i });
                acked[ack.EventId] = ack.Position ?? throw new InvalidOperationException("no position in the acknowledgement");
            }
            finally
            {
                inFlight.Release();
            }
        }).ToList();
        await Poll.UntilAsync(() => Task.FromResult(acked.Count >= 1500), TimeSpan.FromSeconds(60), "1,500 events before the crash");
        cluster.Nodes[2].Kill();
        await Task.WhenAll(sends).WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(events, acked.Count);

        await Poll.UntilAsync(() => Task.FromResult(received.Count >= events), TimeSpan.FromSeconds(120), $"{events} events at the subscriber");
        await stopSubscriber.CancelAsync();
        await subscriber.WaitAsync(TimeSpan.FromSeconds(30));

        var records = received.ToList();
        output.WriteLine($"{database}: {records.Count} events received, positions {records[0].Position}..{records[^1].Position}");
        Assert.Equal(events, records.Count);
        Assert.True(records.Zip(records.Skip(1)).All(pair => pair.Item1.Position < pair.Item2.Position), "positions strictly increase");
        Assert.All(records, record => Assert.Equal(acked[record.EventId], record.Position));

        // Each entity's history, read page by page, is its events in version order.
        var entity = $"{prefix}7";
        var history = new List<EventRecord>();
        await foreach (var record in client.HistoryAsync(entity))
            history.Add(record);
        Assert.Equal(Enumerable.Range(1, events / 1000).Select(v => (long)v), history.Select(r => r.Version));
        Assert.Equal(records.Where(r => r.EntityId == entity).Select(r => r.EventId), history.Select(r => r.EventId));
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_send_again_with_the_same_id_as_a_duplicate_and_resume_a_group_where_it_stopped(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 1, output);
        var services = new ServiceCollection();
        services.AddEventClusterClient(options => options.Seeds = on.Cluster.Seeds.ToList());
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<EventClusterClient>();
        Assert.Same(client, provider.GetRequiredService<EventClusterClient>());
        var entity = $"order-{Guid.NewGuid():N}";

        var first = await client.SendAsync(entity, "OrderPlaced", new { amount = 42 }, eventId: $"{entity}-placed");
        var again = await client.SendAsync(entity, "OrderPlaced", new { amount = 42 }, eventId: $"{entity}-placed");
        await client.SendAsync(entity, "OrderPaid", """{"paid":true}""");
        Assert.False(first.Duplicate);
        Assert.True(again.Duplicate);
        Assert.Equal((first.Version, first.Position), (again.Version, again.Position));

        var state = await client.GetAsync(entity);
        Assert.True(state.Exists);
        Assert.Equal(2, state.Version);
        Assert.Contains("\"amount\":42", state.Data);
        Assert.Contains("\"paid\":true", state.Data);
        Assert.False((await client.GetAsync($"{entity}-none")).Exists);
        var status = await client.StatusAsync();
        Assert.Single(status.Members, member => member.Status == "Up");

        // A group: the first reader takes one event (Max) and leaves; the next one starts after it.
        // A reader that leaves its loop early has not handled its last event: the next gets it again.
        var group = $"g-{Guid.NewGuid():N}";
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var firstReader = await ReadAllAsync(client.SubscribeAsync(new SubscribeOptions { EntityId = entity, Group = group, Max = 1 }, deadline.Token));
        Assert.Equal([1L], firstReader.Select(r => r.Version));
        await foreach (var record in client.SubscribeAsync(new SubscribeOptions { EntityId = entity, Group = group }, deadline.Token))
        {
            Assert.Equal(2, record.Version);
            break;
        }

        var nextReader = await ReadAllAsync(client.SubscribeAsync(new SubscribeOptions { EntityId = entity, Group = group, Max = 1 }, deadline.Token));
        Assert.Equal([2L], nextReader.Select(r => r.Version));

        // Disposed: calls fail at once instead of waiting for a cluster.
        await client.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.StatusAsync());
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_list_groups_with_their_lag_and_manage_webhooks_that_deliver_to_a_real_receiver(string database)
    {
        const string token = "hooks-t0ken";
        // The node seals webhook secrets under a key of its own (a secret is refused without one).
        await using var on = await ClusterOn.StartAsync(database, 1, output,
            ["--api-token", token, "--secrets-key", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), .. WebhookReceiver.NodeArguments]);
        var seeds = on.Cluster.Seeds.ToList();
        await using var client = new EventClusterClient(new EventClusterClientOptions { Seeds = seeds, ApiToken = token });
        await using var anonymous = new EventClusterClient(new EventClusterClientOptions { Seeds = seeds });
        var sent = new List<long>();
        foreach (var entity in new[] { "parcel-ok-1", "parcel-bad", "parcel-ok-2", "other-1" })
            sent.Add((await client.SendAsync(entity, "shipped", new { to = entity })).Position!.Value);

        // A group that handled the first event: its position is that event's, and the three after it are its lag.
        var group = $"g-{Guid.NewGuid():N}";
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var read = await ReadAllAsync(client.SubscribeAsync(new SubscribeOptions { Group = group, Max = 1 }, deadline.Token));
        var groups = await client.GroupsAsync();
        var info = Assert.Single(groups.Groups, g => g.Name == group);
        Assert.Equal(sent[0], read.Single().Position);
        Assert.Equal((sent[0], 3L, sent[^1]), (info.Position, info.Lag, groups.Head));

        // Bad input is refused before anything is sent, and nothing is created.
        using var receiver = new WebhookReceiver();
        var broken = true;
        receiver.Answer = delivery => broken && delivery.EntityId == "parcel-bad" ? 400 : 200;
        var badName = await Assert.ThrowsAsync<ArgumentException>(() => client.AddWebhookAsync("bad name", receiver.Url));
        Assert.Contains("subscription name 'bad name' contains ' '", badName.Message);
        var badUrl = await Assert.ThrowsAsync<ArgumentException>(() => client.AddWebhookAsync("parcels", "ftp://127.0.0.1/hook"));
        Assert.Contains("must be an absolute http or https URL", badUrl.Message);
        var badAttempts = await Assert.ThrowsAsync<ArgumentException>(() => client.AddWebhookAsync("parcels", receiver.Url, new WebhookOptions { MaxAttempts = 0 }));
        Assert.Contains("maxAttempts 0 must be from 1 to 100", badAttempts.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => client.WebhookAsync("no/such"));
        Assert.Empty(await client.WebhooksAsync());
        var withoutToken = await Assert.ThrowsAsync<WebhookRefusedException>(() => anonymous.WebhooksAsync());
        Assert.Equal(401, withoutToken.Status);

        var added = await client.AddWebhookAsync("parcels", receiver.Url,
            new WebhookOptions { EntityPrefix = "parcel-", Secret = "s3cret", Concurrency = 4, From = SubscribeOptions.Start });
        Assert.Equal(("parcels", receiver.Url, "parcel-", true, 10, 4), (added.Name, added.Url, added.EntityPrefix, added.HasSecret, added.MaxAttempts, added.Concurrency));
        var taken = await Assert.ThrowsAsync<WebhookRefusedException>(() => client.AddWebhookAsync("parcels", receiver.Url));
        Assert.Equal(409, taken.Status);

        // The receiver refuses one entity's event: it is parked, the others are delivered.
        await Poll.UntilAsync(async () => (await client.WebhookAsync("parcels")).Subscription.Parked == 1, TimeSpan.FromSeconds(60),
            "the refused event parked");
        var shown = await client.WebhookAsync("parcels");
        var parked = Assert.Single(shown.ParkedEvents);
        Assert.Equal(("parcel-bad", sent[1]), (parked.EntityId, parked.Position));
        Assert.Contains("HTTP 400", parked.LastError);
        await Poll.UntilAsync(async () => (await client.WebhooksAsync()).Single().Delivered == 2, TimeSpan.FromSeconds(30), "two deliveries counted");
        Assert.Equal(["parcel-ok-1", "parcel-ok-2"], receiver.Confirmed.Select(d => d.EntityId).Order());

        broken = false;
        Assert.Contains("parcels", await client.ReplayParkedAsync("parcels"));
        await Poll.UntilAsync(() => receiver.Confirmed.Any(d => d.EntityId == "parcel-bad"), TimeSpan.FromSeconds(60), "the parked event replayed");
        await Poll.UntilAsync(async () => (await client.WebhookAsync("parcels")).ParkedEvents.Count == 0, TimeSpan.FromSeconds(30), "the parked list emptied");

        await client.RemoveWebhookAsync("parcels");
        Assert.Empty(await client.WebhooksAsync());
        Assert.Equal(404, (await Assert.ThrowsAsync<WebhookRefusedException>(() => client.WebhookAsync("parcels"))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<WebhookRefusedException>(() => client.RemoveWebhookAsync("parcels"))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<WebhookRefusedException>(() => client.ReplayParkedAsync("parcels"))).Status);
        Assert.DoesNotContain(receiver.Deliveries, d => d.EntityId == "other-1");
    }

    private static async Task<List<EventRecord>> ReadAllAsync(IAsyncEnumerable<EventRecord> records)
    {
        var list = new List<EventRecord>();
        await foreach (var record in records)
            list.Add(record);
        return list;
    }

    [Fact]
    public async Task Should_refuse_bad_input_before_sending_and_report_an_unreachable_cluster()
    {
        var nowhere = $"127.0.0.1:{FreePorts.Next()}";
        await using var client = new EventClusterClient(new EventClusterClientOptions { Seeds = [nowhere], Timeout = TimeSpan.FromSeconds(3) });

        var badEntity = await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync("bad/id", "deposit"));
        Assert.Contains("entity id 'bad/id' contains '/'", badEntity.Message);
        var badData = await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync("a", "deposit", "[1,2]"));
        Assert.Contains("data must be a JSON object", badData.Message);
        Assert.Throws<ArgumentException>(() => new EventClusterClient(new EventClusterClientOptions { Seeds = ["no-port"] }));
        Assert.Throws<ArgumentException>(() => client.SubscribeAsync(new SubscribeOptions { EntityId = "a", EntityPrefix = "b" }));

        var unreachable = await Assert.ThrowsAsync<ClusterUnreachableException>(() => client.SendAsync("a", "deposit", eventId: "dep-1"));
        Assert.Contains(nowhere, unreachable.Message);
        Assert.Equal("dep-1", unreachable.EventId);
        await Assert.ThrowsAsync<ClusterUnreachableException>(() => client.StatusAsync());
    }

    [Fact]
    public async Task Should_run_the_readme_sample_against_a_cluster()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        var order = $"order-{Guid.NewGuid():N}";

        var run = await ClientRun.RunProgramAsync(BuiltArtifacts.QuickStartDll, [order], TimeSpan.FromSeconds(90),
            new Dictionary<string, string> { ["EVENTCLUSTER_SEEDS"] = cluster.SeedList });

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("as version 1 at position", run.Stdout);
        Assert.Contains($"{order} is at version 1: {{\"amount\":42}}", run.Stdout);
        Assert.Contains("history: v1 OrderPlaced {\"amount\":42}", run.Stdout);
        Assert.Contains($" {order} v1 OrderPlaced", run.Stdout);
    }
}
