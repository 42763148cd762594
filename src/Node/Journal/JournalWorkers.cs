using System.Collections.Concurrent;

namespace EventCluster.Node.Journal;

/// <summary>
/// A fixed number of threads, each with one connection of its own, for all journal database work
/// but the group-committed event writes of <see cref="JournalWriter"/>: replays and recoveries,
/// snapshots, deletions, the event log, and the groups' and webhooks' reads and writes. However
/// many entities start at once, the node holds at most this many such connections, and the work
/// never runs on the thread pool that remoting and the failure detector use.
/// </summary>
public sealed class JournalWorkers : IDisposable
{
    private readonly BlockingCollection<Action<IJournalStore?, Exception?>> _queue = new();
    private readonly Func<IJournalStore> _open;
    private readonly Thread[] _threads;

    /// <summary>Starts <paramref name="count"/> threads; each opens its connection on its first work.</summary>
    public JournalWorkers(string name, int count, Func<IJournalStore> open)
    {
        _open = open;
        _threads = Enumerable.Range(1, Math.Max(1, count))
            .Select(i => new Thread(Run) { IsBackground = true, Name = $"{name}-{i}" })
            .ToArray();
        foreach (var thread in _threads)
            thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on one of the threads with its connection.</summary>
    public Task<T> RunAsync<T>(Func<IJournalStore, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _queue.Add((store, openError) =>
            {
                if (openError is not null)
                {
                    done.TrySetException(openError);
                    return;
                }

                try
                {
                    done.TrySetResult(work(store!));
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                    throw;
                }
            });
        }
        catch (InvalidOperationException)
        {
            done.TrySetException(new ObjectDisposedException(nameof(JournalWorkers), "the journal workers have stopped"));
        }

        return done.Task;
    }

    /// <summary>Stops taking work; the threads finish what is queued and close their connections.</summary>
    public void Dispose() => _queue.CompleteAdding();

    private void Run()
    {
        IJournalStore? store = null;
        foreach (var work in _queue.GetConsumingEnumerable())
        {
            Exception? openError = null;
            try
            {
                store ??= _open();
            }
            catch (Exception ex)
            {
                openError = ex;
            }

            try
            {
                work(store, openError);
            }
            catch (Exception)
            {
                // The caller has the error; the connection may be broken, so the next call opens a new one.
                store?.Discard();
                store = null;
            }
        }

        store?.Dispose();
    }
}
