using System.Collections.Concurrent;
using System.Diagnostics;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Journal;

/// <summary>
/// The one writer of a node: group-commits the writes of all its entities, one transaction at a
/// time, on a thread of its own (never on the thread pool that remoting and the failure detector
/// use, so a stalled database cannot get a healthy node downed).
/// </summary>
/// <remarks>
/// <para>While a transaction runs, new writes queue up; when it commits, every write in it
/// completes and the queue becomes the next transaction. Under load a transaction carries
/// hundreds of events; alone, an event is written at once. A write completes only after the
/// commit that holds it, so acknowledgement still means durable.</para>
/// <para>A transaction that fails on a version already written is retried write by write, so
/// that only the refused write fails. Any other failure fails every write of the transaction;
/// the connection is replaced and the next transaction goes on.</para>
/// </remarks>
public sealed class JournalWriter : IDisposable
{
    private readonly BlockingCollection<Pending> _queue = new();
    private readonly Func<IJournalStore> _open;
    private readonly Func<Exception, bool> _isTakenVersion;
    private readonly int _maxBatchSize;
    private readonly Action<Exception, int> _onRetriedOneByOne;
    private readonly Action<long> _onCommitted;
    private readonly NodeTracing? _tracing;
    private readonly NodeMetrics? _metrics;
    private readonly Thread _thread;
    private IJournalStore? _store;
    private volatile bool _stopping;

    /// <summary>Starts the writer thread.</summary>
    /// <param name="name">The thread's name.</param>
    /// <param name="open">Opens a connection.</param>
    /// <param name="isTakenVersion">True for the error of a version already written.</param>
    /// <param name="maxBatchSize">Events per transaction at most.</param>
    /// <param name="onRetriedOneByOne">Told when a transaction was retried write by write.</param>
    /// <param name="onCommitted">Told the highest position of each commit, on the writer thread: it must not block.</param>
    /// <param name="tracing">The node's spans: a traced write gets a span of the transaction that stored it.</param>
    /// <param name="metrics">The node's figures: each write's time waiting for the writer and in its transaction.</param>
    public JournalWriter(string name, Func<IJournalStore> open, Func<Exception, bool> isTakenVersion, int maxBatchSize,
        Action<Exception, int> onRetriedOneByOne, Action<long> onCommitted, NodeTracing? tracing = null, NodeMetrics? metrics = null)
    {
        _tracing = tracing;
        _metrics = metrics;
        _onCommitted = onCommitted;
        _open = open;
        _isTakenVersion = isTakenVersion;
        _maxBatchSize = maxBatchSize;
        _onRetriedOneByOne = onRetriedOneByOne;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>
    /// Queues <paramref name="rows"/> as one atomic write; completes with their positions after the
    /// commit, and the commit's <see cref="Stopwatch"/> timestamp. A write whose <paramref name="cancellation"/> fires while it still waits in the queue
    /// (its caller gave up on it) is dropped unwritten, so that a caller told "not stored" is right.
    /// Each of <paramref name="traces"/> gets a span of the transaction that holds the write.
    /// </summary>
    public Task<CommittedWrite> WriteAsync(IReadOnlyList<JournalRow> rows, CancellationToken cancellation = default,
        IReadOnlyList<ActivityContext>? traces = null)
    {
        var pending = new Pending(rows, cancellation, traces);
        try
        {
            _queue.Add(pending);
        }
        catch (InvalidOperationException)
        {
            pending.Done.TrySetException(new ObjectDisposedException(nameof(JournalWriter), "the journal writer has stopped"));
        }

        return pending.Done.Task;
    }

    /// <summary>Stops taking writes; queued ones are failed, the running transaction finishes.</summary>
    public void Dispose()
    {
        _stopping = true;
        _queue.CompleteAdding();
        if (Thread.CurrentThread != _thread)
            _thread.Join(TimeSpan.FromSeconds(15));
    }

    private void Run()
    {
        var batch = new List<Pending>();
        foreach (var first in _queue.GetConsumingEnumerable())
        {
            batch.Clear();
            var events = 0;
            for (var next = first; next is not null; next = events < _maxBatchSize && _queue.TryTake(out var more) ? more : null)
            {
                if (_stopping)
                    next.Done.TrySetException(new ObjectDisposedException(nameof(JournalWriter), "the journal writer has stopped"));
                else if (next.Cancellation.IsCancellationRequested)
                    next.Done.TrySetCanceled(next.Cancellation);
                else
                {
                    batch.Add(next);
                    events += next.Rows.Count;
                }
            }

            if (batch.Count > 0)
                Write(batch);
        }

        _store?.Dispose();
    }

    private void Write(List<Pending> batch)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var started = Stopwatch.GetTimestamp();
        if (_metrics is not null)
        {
            foreach (var pending in batch)
                _metrics.StageTime(WriteStage.WriterQueue, Stopwatch.GetElapsedTime(pending.Enqueued, started));
        }

        var rows = batch.Count == 1 ? batch[0].Rows : batch.SelectMany(pending => pending.Rows).ToList();
        var (positions, error) = TryWrite(rows);
        if (error is null)
        {
            var committed = Stopwatch.GetTimestamp();
            var transaction = Stopwatch.GetElapsedTime(started, committed);
            var offset = 0;
            foreach (var pending in batch)
            {
                Trace(pending, startedAt, rows.Count, null);
                _metrics?.StageTime(WriteStage.WriteCommit, transaction);
                pending.Done.TrySetResult(new CommittedWrite(positions![offset..(offset + pending.Rows.Count)], committed));
                offset += pending.Rows.Count;
            }

            Committed(positions!);
            return;
        }

        if (batch.Count > 1 && _isTakenVersion(error))
        {
            _onRetriedOneByOne(error, batch.Count);
            foreach (var pending in batch)
            {
                var ownStart = DateTimeOffset.UtcNow;
                var (own, ownError) = TryWrite(pending.Rows);
                Trace(pending, ownStart, pending.Rows.Count, ownError);
                if (ownError is null)
                {
                    pending.Done.TrySetResult(new CommittedWrite(own!, Stopwatch.GetTimestamp()));
                    Committed(own!);
                }
                else
                    pending.Done.TrySetException(ownError);
            }

            return;
        }

        foreach (var pending in batch)
        {
            Trace(pending, startedAt, rows.Count, error);
            pending.Done.TrySetException(error);
        }
    }

    /// <summary>A span per trace of <paramref name="pending"/>, from the transaction's start until now.</summary>
    private void Trace(Pending pending, DateTimeOffset startedAt, int transactionEvents, Exception? error)
    {
        if (_tracing is null || pending.Traces is not { Count: > 0 } traces)
            return;
        foreach (var parent in traces)
        {
            var span = _tracing.Start(NodeTracing.JournalWriteSpan, parent, startedAt);
            span?.SetTag("eventcluster.journal.events", pending.Rows.Count);
            span?.SetTag("eventcluster.journal.transaction_events", transactionEvents);
            NodeTracing.Stop(span, error?.GetBaseException().Message);
        }
    }

    private void Committed(long[] positions)
    {
        if (positions.Length == 0)
            return;
        try
        {
            _onCommitted(positions.Max());
        }
        catch (Exception)
        {
            // A notice is a hint for readers, who also poll; it never fails a write.
        }
    }

    private (long[]? Positions, Exception? Error) TryWrite(IReadOnlyList<JournalRow> rows)
    {
        try
        {
            _store ??= _open();
            return (_store.WriteAll(rows), null);
        }
        catch (Exception ex)
        {
            if (!_isTakenVersion(ex))
            {
                // The connection may be broken (database restarted, network): the next transaction opens a new one.
                _store?.Discard();
                _store = null;
            }

            return (null, ex);
        }
    }

    private sealed class Pending(IReadOnlyList<JournalRow> rows, CancellationToken cancellation, IReadOnlyList<ActivityContext>? traces)
    {
        public IReadOnlyList<ActivityContext>? Traces { get; } = traces;

        public IReadOnlyList<JournalRow> Rows { get; } = rows;

        public CancellationToken Cancellation { get; } = cancellation;

        public long Enqueued { get; } = Stopwatch.GetTimestamp();

        public TaskCompletionSource<CommittedWrite> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>A committed write: the positions of its rows, and the <see cref="Stopwatch"/> timestamp of the commit.</summary>
public readonly record struct CommittedWrite(long[] Positions, long CommittedAt);
