using System.Runtime.CompilerServices;
using Akka.Actor;
using EventCluster.Client.Connection;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Replies;

namespace EventCluster.Client.Bulk;

/// <summary>
/// Sends a stream of events in batches: events are grouped by the node that hosts their entity's
/// shard (when the placement is known; through the seed contact otherwise), a batch goes out when
/// it is full, and at most a fixed number of batches are in flight. Each batch is answered with
/// one outcome per event; events that got no answer or that the journal could not store are sent
/// again with the same ids, in a later batch, until the time runs out.
/// </summary>
internal sealed class BulkSender(ClusterConnection connection, TimeSpan total, TimeSpan? notStoredDelay, int batchesInFlight)
{
    /// <summary>How long one attempt of a batch waits for its answer: above the node's own wait for its entities (9 s).</summary>
    public static readonly TimeSpan BatchAttemptTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Events gathered per node before they are sorted by entity and cut into batches: a batch then
    /// carries several events of each of its entities, which each entity persists as one write.
    /// Bounded, so memory stays a few MB however long the stream.
    /// </summary>
    public const int WindowEvents = 10 * SubmitEventBatch.MaxEvents;

    /// <summary>How often the shard placement is learnt again while a stream is sent.</summary>
    private static readonly TimeSpan PlacementRefresh = TimeSpan.FromSeconds(5);

    /// <summary>One event of the stream with its place in it.</summary>
    public readonly record struct Numbered(long Index, SubmitEvent Event);

    /// <summary>
    /// The outcome of every event, in the order their batches complete (at most
    /// <c>batchesInFlight</c> batches are sent ahead of the one awaited).
    /// </summary>
    public async IAsyncEnumerable<(long Index, EventOutcome Outcome)> SendAsync(IAsyncEnumerable<SubmitEvent> events,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await RefreshPlacementAsync();
        var lastRefresh = DateTime.UtcNow;
        Task? refreshing = null;
        var open = new Dictionary<IActorRef, Batch>();
        var inFlight = new Queue<Task<List<(long, EventOutcome)>>>();
        long index = 0;
        await foreach (var submit in events.WithCancellation(cancellationToken))
        {
            if (DateTime.UtcNow - lastRefresh > PlacementRefresh && refreshing is null or { IsCompleted: true })
            {
                lastRefresh = DateTime.UtcNow;
                refreshing = RefreshPlacementAsync();
            }

            var target = connection.BatchTargetOf(submit.EntityId) ?? ActorRefs.Nobody;
            if (!open.TryGetValue(target, out var window))
                open[target] = window = new Batch(target);
            window.Add(new Numbered(index++, submit), SubmitEventBatch.SizeOf(submit));
            if (window.Events.Count < WindowEvents && window.Bytes < WindowEvents / SubmitEventBatch.MaxEvents * (long)SubmitEventBatch.MaxBytes)
                continue;
            open.Remove(target);
            foreach (var batch in window.Split())
            {
                while (inFlight.Count >= batchesInFlight)
                    foreach (var outcome in await inFlight.Dequeue())
                        yield return outcome;
                inFlight.Enqueue(RunAsync(batch, cancellationToken));
            }
        }

        foreach (var batch in open.Values.SelectMany(window => window.Split()))
            inFlight.Enqueue(RunAsync(batch, cancellationToken));
        while (inFlight.Count > 0)
            foreach (var outcome in await inFlight.Dequeue())
                yield return outcome;
        if (refreshing is not null)
            await refreshing;
    }

    /// <summary>
    /// Sends one batch until each event is stored, refused, or the time runs out; retries go
    /// through the seed contact with a fresh batch id and the same event ids.
    /// </summary>
    private async Task<List<(long, EventOutcome)>> RunAsync(Batch batch, CancellationToken cancellationToken)
    {
        if (connection.NoMemberReadsBatches)
            return await RunOneByOneAsync(batch, cancellationToken);

        var deadline = DateTime.UtcNow + total;
        var done = new List<(long, EventOutcome)>(batch.Events.Count);
        var pending = batch.Events;
        IActorRef? target = ReferenceEquals(batch.Target, ActorRefs.Nobody) ? null : batch.Target;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var request = new SubmitEventBatch(Guid.NewGuid().ToString("N"), pending.Select(p => p.Event).ToList());
            object? reply = null;
            if (left > TimeSpan.Zero)
            {
                try
                {
                    reply = await connection.SubmitBatchAsync(request, left < BatchAttemptTimeout ? left : BatchAttemptTimeout, target)
                        .WaitAsync(cancellationToken);
                }
                catch (TimeoutException)
                {
                    // No answer: every event of the batch may or may not be stored; sent again below.
                }
            }

            var retry = new List<Numbered>();
            var notStored = false;
            for (var i = 0; i < pending.Count; i++)
            {
                var outcome = reply is EventBatchResult result && i < result.Outcomes.Count
                    ? result.Outcomes[i]
                    : new EventOutcome(pending[i].Event.EntityId, pending[i].Event.EventId, EventOutcome.Unanswered,
                        Reason: NoAnswer);
                var retryable = outcome.Status == EventOutcome.Unanswered || (outcome.Status == EventOutcome.NotStored && notStoredDelay is not null);
                if (retryable && DateTime.UtcNow < deadline)
                {
                    retry.Add(pending[i]);
                    notStored |= outcome.Status == EventOutcome.NotStored;
                }
                else
                    done.Add((pending[i].Index, outcome));
            }

            if (retry.Count == 0)
                return done;
            pending = retry;
            // Through the seed contact, unless a member that cannot read batches could be the one reached.
            target = connection.EveryMemberReadsBatches ? null : connection.BatchTargetOf(pending[0].Event.EntityId);
            if (notStored && notStoredDelay is { } delay)
                await Task.Delay(delay, cancellationToken);
        }
    }

    private string NoAnswer => $"no answer from the cluster within {total.TotalSeconds:0.#}s; it may have been stored, resending the same event id is safe";

    /// <summary>
    /// Sends the events of <paramref name="batch"/> as single events, for a cluster of a release
    /// that reads no batches: each entity's in order, the entities side by side.
    /// </summary>
    private async Task<List<(long, EventOutcome)>> RunOneByOneAsync(Batch batch, CancellationToken cancellationToken)
    {
        var done = new List<(long, EventOutcome)>(batch.Events.Count);
        await Task.WhenAll(batch.Events.GroupBy(item => item.Event.EntityId, StringComparer.Ordinal).Select(async entity =>
        {
            foreach (var item in entity)
            {
                var reply = await connection.SubmitWithRetriesAsync(item.Event, total, BatchAttemptTimeout, notStoredDelay, onRetry: null,
                    cancellationToken: cancellationToken);
                var outcome = EventOutcome.OfReply(item.Event.EntityId, item.Event.EventId, reply, NoAnswer);
                lock (done)
                    done.Add((item.Index, outcome));
            }
        }));
        done.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return done;
    }

    private async Task RefreshPlacementAsync()
    {
        try
        {
            await connection.RefreshPlacementAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is TimeoutException or AskTimeoutException)
        {
            // Keep the placement known so far: events still arrive, through the seed contact.
        }
    }

    private sealed class Batch(IActorRef target)
    {
        public IActorRef Target { get; } = target;

        public List<Numbered> Events { get; } = [];

        public long Bytes { get; private set; }

        public void Add(Numbered item, long size)
        {
            Events.Add(item);
            Bytes += size;
        }

        /// <summary>
        /// The window's events ordered by entity (each entity's in the order given) and cut into
        /// batches within <see cref="SubmitEventBatch"/>'s limits.
        /// </summary>
        public IEnumerable<Batch> Split()
        {
            var batch = new Batch(Target);
            foreach (var item in Events.OrderBy(e => e.Event.EntityId, StringComparer.Ordinal))
            {
                var size = SubmitEventBatch.SizeOf(item.Event);
                if (batch.Events.Count == SubmitEventBatch.MaxEvents || (batch.Events.Count > 0 && batch.Bytes + size > SubmitEventBatch.MaxBytes))
                {
                    yield return batch;
                    batch = new Batch(Target);
                }

                batch.Add(item, size);
            }

            if (batch.Events.Count > 0)
                yield return batch;
        }
    }
}
