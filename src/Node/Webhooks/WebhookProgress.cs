namespace EventCluster.Node.Webhooks;

/// <summary>
/// How far one subscription's delivery got: the events read and not yet finished (delivered or
/// parked), in read order, so the position below which everything is finished is known at any
/// time; and the counters its checkpoints store. Thread-safe: the reader, the entity workers and
/// the checkpoints share it.
/// </summary>
/// <remarks>
/// At most <c>readAhead</c> events are held above the finished position: the reader waits for
/// room. That bounds how far an entity that is slow, or retried, lets the others run ahead of
/// the stored position, and so what a crash repeats.
/// </remarks>
public sealed class WebhookProgress
{
    private readonly Lock _gate = new();
    private readonly long[] _positions;
    private readonly bool[] _finished;
    private readonly int _checkpointEvery;
    private readonly SemaphoreSlim _checkpointDue = new(0, 1);
    private TaskCompletionSource _room = NewSignal();
    private int _roomWanted;
    private long _oldest;
    private long _next;
    private long _readThrough;
    private long _sinceCheckpoint;
    private long _delivered;
    private long _retries;
    private string? _lastError;
    private bool _countersChanged;

    /// <summary>Starts at the subscription's stored position and counters.</summary>
    public WebhookProgress(WebhookRow row, int readAhead, int checkpointEvery)
    {
        _positions = new long[readAhead];
        _finished = new bool[readAhead];
        _checkpointEvery = checkpointEvery;
        _readThrough = row.Position;
        _delivered = row.Delivered;
        _retries = row.Retries;
        _lastError = row.LastError;
    }

    /// <summary>The position the reader has seen everything up to.</summary>
    public long ReadThrough
    {
        get
        {
            lock (_gate)
                return _readThrough;
        }
    }

    /// <summary>The position up to which every event read is finished.</summary>
    public long Finished
    {
        get
        {
            lock (_gate)
                return FinishedUpTo;
        }
    }

    /// <summary>Events held above <see cref="Finished"/>.</summary>
    public int Held
    {
        get
        {
            lock (_gate)
                return (int)(_next - _oldest);
        }
    }

    /// <summary>Events that may be held at most.</summary>
    public int ReadAhead => _positions.Length;

    /// <summary>Waits until room for at least <paramref name="atLeast"/> more events; returns how many more may be read.</summary>
    public async Task<int> WaitForRoomAsync(int atLeast, CancellationToken stop)
    {
        Task room;
        lock (_gate)
        {
            if (Free >= atLeast)
                return Free;
            _roomWanted = atLeast;
            _room = NewSignal();
            room = _room.Task;
        }

        await room.WaitAsync(stop);
        lock (_gate)
            return Free;
    }

    /// <summary>Notes an event read at <paramref name="position"/> (above every one read before); returns its ticket for <see cref="Finish"/>.</summary>
    public long Read(long position)
    {
        lock (_gate)
        {
            if (_next - _oldest >= _positions.Length)
                throw new InvalidOperationException("read beyond the read-ahead; wait for room first");
            var ticket = _next++;
            _positions[ticket % _positions.Length] = position;
            _finished[ticket % _positions.Length] = false;
            _readThrough = Math.Max(_readThrough, position);
            return ticket;
        }
    }

    /// <summary>The reader has seen every matching event up to <paramref name="through"/>.</summary>
    public void ReadUpTo(long through)
    {
        lock (_gate)
            _readThrough = Math.Max(_readThrough, through);
    }

    /// <summary>The event of <paramref name="ticket"/> was delivered or parked.</summary>
    public void Finish(long ticket)
    {
        TaskCompletionSource? room = null;
        var due = false;
        lock (_gate)
        {
            _finished[ticket % _positions.Length] = true;
            while (_oldest < _next && _finished[_oldest % _positions.Length])
                _oldest++;
            if (_roomWanted > 0 && Free >= _roomWanted)
            {
                room = _room;
                _roomWanted = 0;
            }

            due = ++_sinceCheckpoint >= _checkpointEvery;
        }

        room?.TrySetResult();
        if (due && _checkpointDue.CurrentCount == 0)
        {
            try
            {
                _checkpointDue.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another finish signalled it first: one signal is enough.
            }
        }
    }

    /// <summary>Waits until a checkpoint is due: <paramref name="interval"/> has passed, or enough events were finished.</summary>
    public async Task WaitForCheckpointAsync(TimeSpan interval, CancellationToken stop) => await _checkpointDue.WaitAsync(interval, stop);

    /// <summary>What a checkpoint stores now, or null when nothing changed since <paramref name="stored"/>; resets the counts towards the next one.</summary>
    public (long Position, long Delivered, long Retries, string? LastError)? TakeCheckpoint(long stored, bool force)
    {
        lock (_gate)
        {
            var position = Math.Max(stored, FinishedUpTo);
            _sinceCheckpoint = 0;
            if (position <= stored && !_countersChanged && !force)
                return null;
            _countersChanged = false;
            return (position, _delivered, _retries, _lastError);
        }
    }

    /// <summary>A checkpoint failed: its counters are to be stored by the next one.</summary>
    public void CheckpointFailed()
    {
        lock (_gate)
            _countersChanged = true;
    }

    /// <summary>An event was confirmed by the receiver.</summary>
    public void Confirmed()
    {
        lock (_gate)
        {
            _delivered++;
            _countersChanged = true;
        }
    }

    /// <summary>An attempt failed and is retried.</summary>
    public void Retried(string error)
    {
        lock (_gate)
        {
            _retries++;
            _lastError = error;
            _countersChanged = true;
        }
    }

    /// <summary>An event's last attempt failed: it is parked.</summary>
    public void Failed(string error)
    {
        lock (_gate)
        {
            _lastError = error;
            _countersChanged = true;
        }
    }

    /// <summary>See <see cref="Finished"/>; called under the lock.</summary>
    private long FinishedUpTo => _oldest == _next ? _readThrough : _positions[_oldest % _positions.Length] - 1;

    /// <summary>Room for more events; called under the lock.</summary>
    private int Free => _positions.Length - (int)(_next - _oldest);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
