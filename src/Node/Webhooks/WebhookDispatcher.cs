using System.Threading.Channels;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Node.Webhooks;

/// <summary>An event read for delivery, with its ticket in the subscription's <see cref="WebhookProgress"/>.</summary>
/// <param name="Ticket">What finishes it in the progress.</param>
/// <param name="Record">The event.</param>
public sealed record WebhookItem(long Ticket, EventRecord Record);

/// <summary>
/// Hands a subscription's events to its workers: one entity's events one at a time in the order
/// posted (version order), different entities in parallel, one worker per entity at a time.
/// </summary>
/// <remarks>
/// Entities with events waiting queue in a channel; a worker takes an entity, handles its oldest
/// event and, if more wait, puts it back at the end. Entities take turns, so a busy entity does
/// not hold the others (and the stored position) back.
/// </remarks>
public sealed class WebhookDispatcher
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Queue<WebhookItem>> _waiting = new(StringComparer.Ordinal);
    private readonly Channel<string> _entities = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly Func<WebhookItem, CancellationToken, Task> _handle;

    /// <summary>Dispatches to <paramref name="handle"/>, which finishes an event (it throws only when stopping).</summary>
    public WebhookDispatcher(Func<WebhookItem, CancellationToken, Task> handle) => _handle = handle;

    /// <summary>Queues an event behind its entity's earlier ones.</summary>
    public void Post(WebhookItem item)
    {
        lock (_gate)
        {
            if (_waiting.TryGetValue(item.Record.EntityId, out var queue))
            {
                queue.Enqueue(item);
                return;
            }

            // An entity is in the channel (or with a worker) exactly while it has a queue.
            _waiting[item.Record.EntityId] = queue = new Queue<WebhookItem>();
            queue.Enqueue(item);
            _entities.Writer.TryWrite(item.Record.EntityId);
        }
    }

    /// <summary>Runs <paramref name="workers"/> workers until <paramref name="stop"/>.</summary>
    public Task RunAsync(int workers, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(stop), CancellationToken.None)));

    private async Task WorkAsync(CancellationToken stop)
    {
        try
        {
            while (await _entities.Reader.WaitToReadAsync(stop))
            {
                while (_entities.Reader.TryRead(out var entity))
                {
                    WebhookItem item;
                    lock (_gate)
                        item = _waiting[entity].Peek();
                    // The event stays at its queue's head while it is handled: the entity's
                    // next one waits for it.
                    await _handle(item, stop);
                    lock (_gate)
                    {
                        var queue = _waiting[entity];
                        queue.Dequeue();
                        if (queue.Count == 0)
                            _waiting.Remove(entity);
                        else
                            _entities.Writer.TryWrite(entity);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping: what is not finished is delivered again by the next runner.
        }
    }
}
