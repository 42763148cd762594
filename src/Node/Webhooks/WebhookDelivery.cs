using Akka.Event;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Journal;
using EventCluster.Node.Subscriptions;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// Delivers one webhook subscription from its stored position: the <see cref="WebhookLogReader"/>
/// reads its events, the <see cref="WebhookDispatcher"/> hands them to up to
/// <see cref="WebhookDefinition.Concurrency"/> entity workers, the <see cref="WebhookSender"/>
/// POSTs each (parked here when it fails), and the position is stored in checkpoints.
/// </summary>
/// <remarks>
/// The stored position only moves to a point below which every event was delivered or parked:
/// every <see cref="WebhookOptions.CheckpointInterval"/>, and sooner after
/// <see cref="WebhookOptions.CheckpointEvery"/> events. A runner that stops (a crash, a leave)
/// leaves the rest to the next one, which delivers again what was not stored: at least once.
/// </remarks>
public sealed class WebhookDelivery
{
    private readonly WebhookDefinition _definition;
    private readonly long _generation;
    private readonly EventLog _reader;
    private readonly JournalDatabase _database;
    private readonly string _runner;
    private readonly WebhookOptions _options;
    private readonly ILoggingAdapter _log;
    private readonly WebhookProgress _progress;
    private readonly WebhookSender _sender;
    private readonly WebhookDispatcher _dispatcher;
    private readonly WebhookLogReader _logReader;
    private long _stored;
    private bool _runnerShown;

    /// <summary>Prepares delivery from the subscription's stored state.</summary>
    public WebhookDelivery(WebhookRow row, WebhookContext context, ILoggingAdapter log)
    {
        _definition = row.Definition;
        _generation = row.Generation;
        _reader = context.Reader;
        _database = context.Database;
        _runner = context.Node;
        _options = context.Options;
        _log = log;
        _stored = row.Position;
        _progress = new WebhookProgress(row, context.Options.ReadAhead, context.Options.CheckpointEvery);
        _sender = new WebhookSender(row.Definition, context.HttpClients, context.Options, _progress);
        _dispatcher = new WebhookDispatcher(DeliverAsync);
        _logReader = new WebhookLogReader(context.EventLog, new EventFilter(row.Definition.Types, null, row.Definition.EntityPrefix), _progress,
            _dispatcher, row.Definition.Name, log);
    }

    /// <summary>Raised when the subscription turns out to be removed.</summary>
    public event Action? Removed;

    /// <summary>Delivers until <paramref name="stop"/>; the position is stored as it goes and when it stops.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            await Task.WhenAll(_logReader.RunAsync(stop), _dispatcher.RunAsync(_definition.Concurrency, stop), CheckpointWhileRunningAsync(stop));
        }
        finally
        {
            await TryCheckpointAsync();
        }
    }

    /// <summary>Stores the position reached and the counters.</summary>
    public async Task CheckpointAsync()
    {
        // The first checkpoint of a runner always writes: the subscription shows its new runner
        // at once, even when there is nothing to deliver.
        if (_progress.TakeCheckpoint(Interlocked.Read(ref _stored), force: !_runnerShown) is not { } checkpoint)
            return;
        bool exists;
        try
        {
            exists = await _database.Workers.RunAsync(store => WebhookStore.Checkpoint(store, _definition.Name, _generation, checkpoint.Position,
                checkpoint.Delivered, checkpoint.Retries, checkpoint.LastError, _runner));
        }
        catch
        {
            _progress.CheckpointFailed();
            throw;
        }

        Interlocked.Exchange(ref _stored, checkpoint.Position);
        _runnerShown = true;
        if (!exists)
            Removed?.Invoke();
    }

    /// <summary>Delivers the subscription's parked events again, in position order; those delivered leave the parked list.</summary>
    public async Task ReplayParkedAsync(CancellationToken stop)
    {
        var parked = await _database.Workers.RunAsync(store => WebhookStore.Parked(store, _definition.Name));
        _log.Info("Webhook {0}: replaying {1} parked events", _definition.Name, parked.Count);
        foreach (var entry in parked)
        {
            stop.ThrowIfCancellationRequested();
            var record = await _reader.ReadEventAsync(entry.EntityId, entry.Version);
            if (record is null)
                continue;
            var sent = await _sender.SendAsync(record, stop);
            await _database.Workers.RunAsync(store =>
            {
                if (sent.Confirmed)
                    WebhookStore.Unpark(store, _definition.Name, entry.Position);
                else
                    WebhookStore.Park(store, _definition.Name, _generation,
                        entry with { Attempts = entry.Attempts + sent.Attempts, LastError = sent.Error!, ParkedAt = DateTimeOffset.UtcNow });
                return true;
            });
        }
    }

    /// <summary>Sends one event and parks it if it fails; it is finished only once parked, so the stored position never passes it before.</summary>
    private async Task DeliverAsync(WebhookItem item, CancellationToken stop)
    {
        while (true)
        {
            try
            {
                await DeliverOnceAsync(item, stop);
                return;
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                // An event left unfinished would hold its entity's queue and the stored position for good.
                _log.Error(ex, "Webhook {0}: delivering {1} v{2} (position {3}) failed; trying again in 1 s", _definition.Name,
                    item.Record.EntityId, item.Record.Version, item.Record.Position);
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
        }
    }

    private async Task DeliverOnceAsync(WebhookItem item, CancellationToken stop)
    {
        var record = item.Record;
        var sent = await _sender.SendAsync(record, stop);
        if (!sent.Confirmed)
        {
            var parked = new ParkedEvent(record.Position, record.EntityId, record.Version, record.EventId, sent.Attempts, sent.Error!, DateTimeOffset.UtcNow);
            while (!await TryParkAsync(parked))
                // The database is down: the entity waits (its order holds) and parks again.
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            _log.Warning("Webhook {0}: parked {1} v{2} (position {3}) after {4} attempts: {5}", _definition.Name, record.EntityId,
                record.Version, record.Position, sent.Attempts, sent.Error);
        }

        _progress.Finish(item.Ticket);
    }

    private async Task<bool> TryParkAsync(ParkedEvent parked)
    {
        try
        {
            await _database.Workers.RunAsync(store =>
            {
                WebhookStore.Park(store, _definition.Name, _generation, parked);
                return true;
            });
            return true;
        }
        catch (Exception ex)
        {
            _log.Warning("Webhook {0}: could not park {1} v{2}: {3}", _definition.Name, parked.EntityId, parked.Version, ex.GetBaseException().Message);
            return false;
        }
    }

    /// <summary>Stores the position every interval, or sooner when enough events were finished, until stopped.</summary>
    private async Task CheckpointWhileRunningAsync(CancellationToken stop)
    {
        try
        {
            var due = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(_options.CheckpointInterval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            while (true)
            {
                var wait = System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                    await _progress.WaitForCheckpointAsync(wait, stop);
                stop.ThrowIfCancellationRequested();
                // The interval runs from each checkpoint's start: a slow write does not stretch it.
                due = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(_options.CheckpointInterval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
                await TryCheckpointAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the last checkpoint follows once the workers are done.
        }
    }

    private async Task TryCheckpointAsync()
    {
        try
        {
            await CheckpointAsync();
        }
        catch (Exception ex)
        {
            _log.Warning("Webhook {0}: could not store its position: {1}", _definition.Name, ex.GetBaseException().Message);
        }
    }
}
