using System.Diagnostics;
using System.Net;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Webhooks;
using EventCluster.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace EventCluster.Tests.Unit;

/// <summary>The parts of webhook delivery on their own: the progress and its read-ahead, the per-entity dispatcher, the sender against a real HTTP server.</summary>
public sealed class WebhookDeliverySpecs
{
    private static readonly WebhookRow Row = new(new WebhookDefinition("hook", "http://127.0.0.1:1/hook", [], null, null, 3, 4), 10, 0, 0, null, null, 1);

    private static EventRecord Event(string entity, long version, long position) =>
        new(entity, version, position, $"{entity}-{version}", "t", "{}", DateTimeOffset.UtcNow);

    [Fact]
    public async Task Should_store_only_below_the_oldest_unfinished_event_and_hold_the_reader_at_the_read_ahead()
    {
        var progress = new WebhookProgress(Row, readAhead: 3, checkpointEvery: 1000);
        var first = progress.Read(11);
        var second = progress.Read(12);
        var third = progress.Read(15);
        var room = progress.WaitForRoomAsync(2, CancellationToken.None);

        progress.Finish(second);
        progress.Finish(third);
        Assert.Equal(10, progress.Finished);
        Assert.Equal(3, progress.Held);
        Assert.False(room.IsCompleted);

        progress.Finish(first);
        Assert.Equal(15, progress.Finished);
        Assert.Equal(3, await room.WaitAsync(TimeSpan.FromSeconds(5)));
        progress.ReadUpTo(20);
        Assert.Equal(20, progress.Finished);
        Assert.Equal((20L, 0L, 0L, (string?)null), progress.TakeCheckpoint(stored: 10, force: false));
        Assert.Null(progress.TakeCheckpoint(stored: 20, force: false));
    }

    [Fact]
    public async Task Should_make_a_checkpoint_due_after_so_many_finished_events_without_waiting_for_the_interval()
    {
        var progress = new WebhookProgress(Row, readAhead: 10, checkpointEvery: 2);
        var due = progress.WaitForCheckpointAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
        progress.Finish(progress.Read(11));
        Assert.False(due.IsCompleted);
        progress.Finish(progress.Read(12));
        await due.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Should_hand_one_entitys_events_over_in_order_while_other_entities_go_on()
    {
        var handled = new List<string>();
        var slowFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var dispatcher = new WebhookDispatcher(async (item, _) =>
        {
            if (item.Record.EventId == "a-1")
                await slowFirst.Task;
            lock (handled)
                handled.Add(item.Record.EventId);
        });
        using var stop = new CancellationTokenSource();
        var running = dispatcher.RunAsync(2, stop.Token);
        var position = 0L;
        foreach (var (entity, version) in new[] { ("a", 1L), ("a", 2L), ("b", 1L), ("b", 2L), ("b", 3L), ("a", 3L) })
            dispatcher.Post(new WebhookItem(position, Event(entity, version, ++position)));

        await Poll.UntilAsync(() => Snapshot(handled).Count == 3, TimeSpan.FromSeconds(10), "entity b delivered while a-1 is held");
        Assert.Equal(["b-1", "b-2", "b-3"], Snapshot(handled));
        slowFirst.SetResult();
        await Poll.UntilAsync(() => Snapshot(handled).Count == 6, TimeSpan.FromSeconds(10), "entity a delivered");
        Assert.Equal(["a-1", "a-2", "a-3"], Snapshot(handled).Where(id => id.StartsWith('a')));
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Should_retry_a_5xx_after_its_retry_after_and_count_the_retries()
    {
        var answers = new Queue<int>([503, 200]);
        var arrivals = new List<(DateTime At, IReadOnlyDictionary<string, string?> Headers)>();
        using var server = new LocalHttpServer((context, _) =>
        {
            lock (arrivals)
            {
                arrivals.Add((DateTime.UtcNow, context.Request.Headers.AllKeys.ToDictionary(k => k!, k => context.Request.Headers[k])));
                context.Response.StatusCode = answers.Dequeue();
            }

            if (context.Response.StatusCode == 503)
                context.Response.Headers["Retry-After"] = "2";
            context.Response.Close();
            return Task.CompletedTask;
        });
        var (sender, progress) = Sender($"{server.BaseUrl}/hook", maxAttempts: 3);

        var result = await sender.SendAsync(Event("acct-1", 1, 42), CancellationToken.None);

        Assert.Equal(new SendResult(true, null, 2), result);
        Assert.True(arrivals[1].At - arrivals[0].At >= TimeSpan.FromSeconds(1.9), $"retried after {arrivals[1].At - arrivals[0].At}");
        Assert.Equal("42", arrivals[1].Headers["EventCluster-Position"]);
        Assert.Equal("acct-1-1", arrivals[1].Headers["EventCluster-Event-Id"]);
        var checkpoint = progress.TakeCheckpoint(stored: 10, force: true)!.Value;
        Assert.Equal((1L, 1L), (checkpoint.Delivered, checkpoint.Retries));
        Assert.Contains("HTTP 503", checkpoint.LastError);
    }

    [Fact]
    public async Task Should_park_a_4xx_or_a_redirect_at_once_without_retrying()
    {
        var requests = 0;
        using var server = new LocalHttpServer((context, _) =>
        {
            Interlocked.Increment(ref requests);
            if (context.Request.Url!.AbsolutePath == "/moved")
            {
                context.Response.StatusCode = 307;
                context.Response.Headers["Location"] = "/hook";
            }
            else
                context.Response.StatusCode = 400;
            context.Response.Close();
            return Task.CompletedTask;
        });

        var refused = await Sender($"{server.BaseUrl}/hook", maxAttempts: 5).Sender.SendAsync(Event("acct-1", 1, 42), CancellationToken.None);
        var moved = await Sender($"{server.BaseUrl}/moved", maxAttempts: 5).Sender.SendAsync(Event("acct-1", 1, 42), CancellationToken.None);

        Assert.Equal(new SendResult(false, "HTTP 400 Bad Request", 1), refused);
        Assert.Equal(new SendResult(false, "HTTP 307 Temporary Redirect", 1), moved);
        Assert.Equal(2, requests);
    }

    [Fact]
    public async Task Should_time_an_attempt_out_and_give_up_after_the_last_attempt()
    {
        var requests = 0;
        using var server = new LocalHttpServer(async (context, _) =>
        {
            Interlocked.Increment(ref requests);
            await Task.Delay(TimeSpan.FromSeconds(5));
            context.Response.Close();
        });
        var (sender, _) = Sender($"{server.BaseUrl}/hook", maxAttempts: 2, attemptTimeout: TimeSpan.FromMilliseconds(300));
        var started = Stopwatch.StartNew();

        var result = await sender.SendAsync(Event("acct-1", 1, 42), CancellationToken.None);

        Assert.Equal(new SendResult(false, "no answer within 0.3 s", 2), result);
        Assert.Equal(2, requests);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(4), $"took {started.Elapsed}");
    }

    private static (WebhookSender Sender, WebhookProgress Progress) Sender(string url, int maxAttempts, TimeSpan? attemptTimeout = null)
    {
        // The receiver is on loopback, which webhooks reach only when a rule allows it.
        var options = new WebhookOptions
        {
            AttemptTimeout = attemptTimeout ?? TimeSpan.FromSeconds(10), Addresses = WebhookAddressPolicy.Parse(["127.0.0.1"]),
        };
        var services = new ServiceCollection().AddWebhookDelivery(options).BuildServiceProvider();
        var row = Row with { Definition = Row.Definition with { Url = url, MaxAttempts = maxAttempts } };
        var progress = new WebhookProgress(row, 10, 1000);
        return (new WebhookSender(row.Definition, services.GetRequiredService<IHttpClientFactory>(), options, progress), progress);
    }

    private static List<string> Snapshot(List<string> handled)
    {
        lock (handled)
            return handled.ToList();
    }
}
