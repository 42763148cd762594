using Akka.Actor;
using Akka.Event;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// Reads a subscription's matching events from the node's event-log reader, in position order
/// after what its progress has read, and posts them to the dispatcher, never more than the
/// progress has room for. Near the end of the log it long-polls.
/// </summary>
public sealed class WebhookLogReader(IActorRef eventLog, EventFilter filter, WebhookProgress progress, WebhookDispatcher dispatcher, string name,
    ILoggingAdapter log)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(15);
    private const int LongPollMilliseconds = 3000;

    /// <summary>Reads until <paramref name="stop"/>; a failed read is logged and tried again a second later.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var caughtUp = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                caughtUp = await ReadPageAsync(caughtUp, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopping: what is not finished is delivered again by the next runner.
            }
            catch (AskTimeoutException)
            {
                // The event-log reader was busy; ask again.
            }
            catch (Exception ex)
            {
                log.Warning("Webhook {0}: reading events failed, trying again: {1}", name, ex.GetBaseException().Message);
                await PauseAsync(stop);
            }
        }
    }

    /// <summary>Reads one page; returns whether it reached the end of the log.</summary>
    private async Task<bool> ReadPageAsync(bool caughtUp, CancellationToken stop)
    {
        // Reading in batches: a page of one event per finished event would cost a query each.
        var room = await progress.WaitForRoomAsync(Math.Max(1, Math.Min(progress.ReadAhead, ReadEventLog.MaxPage) / 4), stop);
        var after = progress.ReadThrough;
        var request = new ReadEventLog(Guid.NewGuid().ToString("N"), after, filter, Math.Min(room, ReadEventLog.MaxPage),
            caughtUp ? LongPollMilliseconds : 0);
        var reply = await eventLog.Ask<object>(request, AskTimeout, stop);
        if (reply is not EventLogPage page)
        {
            if (reply is EventLogRequestRefused refused)
                log.Warning("Webhook {0}: reading the event log failed: {1}", name, refused.Reason);
            await PauseAsync(stop);
            return false;
        }

        foreach (var record in page.Events.Where(record => record.Position > after))
            dispatcher.Post(new WebhookItem(progress.Read(record.Position), record));
        progress.ReadUpTo(page.Through);
        return page.CaughtUp;
    }

    private static async Task PauseAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), stop);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
