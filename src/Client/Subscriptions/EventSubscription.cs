using System.Runtime.CompilerServices;
using EventCluster.Client.Connection;
using EventCluster.Messages;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Client.Subscriptions;

/// <summary>
/// Reads the global log for one subscriber: the stored events, then live ones as they are
/// committed, in position order.
/// </summary>
/// <remarks>
/// The subscription keeps its own cursor, the last position it has seen everything up to, and
/// asks any node for what comes after it. A page is only taken in once; a node that dies
/// mid-request costs a retry of the same request through another node, never a skipped or
/// repeated event. With a group, the cluster keeps the cursor: it is confirmed at least every
/// second and every 1,000 events, and when the subscription ends.
/// </remarks>
internal sealed class EventSubscription(ClusterConnection connection, IReadOnlyList<string> seeds, TimeSpan connectTimeout, SubscribeOptions options)
{
    /// <summary>How long a node may hold a request of a subscriber that has seen everything.</summary>
    internal const int LongPollMilliseconds = 3000;

    /// <summary>How long a request may go unanswered before it is sent again (through another node if this one died).</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMilliseconds(LongPollMilliseconds) + TimeSpan.FromSeconds(5);

    public async IAsyncEnumerable<EventRecord> ReadAsync([EnumeratorCancellation] CancellationToken stop)
    {
        var requests = new Requests(connection, seeds, connectTimeout, options.OnNotice, stop);
        GroupMembership? membership = null;
        try
        {
            long cursor;
            if (options.Group is not { } group)
                cursor = options.From;
            else
            {
                membership = await GroupMembership.JoinAsync(requests, group, options.From);
                if (membership is null)
                {
                    stop.ThrowIfCancellationRequested();
                    yield break;
                }

                cursor = membership.Position;
                requests.Notify(SubscriptionNoticeKind.GroupActive,
                    $"group {group}: active from position {cursor}" + (membership.Created ? " (new group)" : ""), cursor);
            }

            var caughtUp = false;
            var handed = 0L;
            while (handed < options.Max)
            {
                var requestId = Guid.NewGuid().ToString("N");
                var page = await requests.RequestAsync<EventLogPage>(requestId,
                    new ReadEventLog(requestId, cursor, options.Filter, (int)Math.Min(ReadEventLog.MaxPage, options.Max - handed),
                        caughtUp ? LongPollMilliseconds : 0));
                if (page is null)
                {
                    stop.ThrowIfCancellationRequested();
                    yield break;
                }

                foreach (var record in page.Events)
                {
                    if (record.Position <= cursor)
                        continue;
                    // Checked before every event: a cancelled subscription hands out nothing more,
                    // and a group member whose lease may have lapsed waits for a confirmation first.
                    stop.ThrowIfCancellationRequested();
                    if (membership is not null && !await membership.EnsureActiveAsync())
                    {
                        stop.ThrowIfCancellationRequested();
                        throw membership.Lost();
                    }

                    yield return record;
                    // Asked for the next one: this one is handled.
                    cursor = record.Position;
                    if (membership is not null && !await membership.HandledAsync(cursor))
                        throw membership.Lost();
                    if (++handed >= options.Max)
                        yield break;
                }

                cursor = Math.Max(cursor, page.Through);
                if (!caughtUp && page.CaughtUp)
                {
                    caughtUp = true;
                    requests.Notify(SubscriptionNoticeKind.CaughtUp, $"caught up at {cursor}", cursor);
                }

                if (membership is not null && !await membership.HandledAsync(cursor))
                    throw membership.Lost();
            }
        }
        finally
        {
            if (membership is not null)
                await membership.LeaveAsync();
        }
    }

    /// <summary>The subscription's requests: retried until a node answers, or the subscription stops.</summary>
    private sealed class Requests(ClusterConnection connection, IReadOnlyList<string> seeds, TimeSpan connectTimeout,
        Action<SubscriptionNotice>? onNotice, CancellationToken stop)
    {
        private bool _answered;
        private bool _warned;
        private readonly DateTime _started = DateTime.UtcNow;

        public ClusterConnection Connection => connection;

        public CancellationToken Stop => stop;

        public void Notify(SubscriptionNoticeKind kind, string message, long position = 0) =>
            onNotice?.Invoke(new SubscriptionNotice(kind, message, position));

        /// <summary>
        /// The reply of type <typeparamref name="T"/>, asking again after a time-out or a
        /// retryable refusal; null when the subscription is stopping.
        /// </summary>
        public async Task<T?> RequestAsync<T>(string requestId, IEventClusterMessage request) where T : class
        {
            while (!stop.IsCancellationRequested)
            {
                object reply;
                try
                {
                    reply = await connection.ListenAsync(requestId, request, RequestTimeout).WaitAsync(stop);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    return null;
                }
                catch (TimeoutException)
                {
                    if (!_answered && DateTime.UtcNow - _started > connectTimeout)
                        throw ConnectionErrors.NoAnswer(seeds, connectTimeout, "the subscription");
                    if (_answered && !_warned)
                    {
                        _warned = true;
                        Notify(SubscriptionNoticeKind.Warning, "no answer from the cluster; asking again (the subscription resumes where it stopped)");
                    }

                    continue;
                }

                _answered = true;
                switch (reply)
                {
                    case T answer:
                        if (_warned)
                        {
                            _warned = false;
                            Notify(SubscriptionNoticeKind.Warning, "the cluster answers again");
                        }

                        return answer;
                    case EventLogRequestRefused { Retryable: true } refused:
                        if (!_warned)
                        {
                            _warned = true;
                            Notify(SubscriptionNoticeKind.Warning, $"{refused.Reason}; asking again");
                        }

                        if (!await Pause(TimeSpan.FromSeconds(1)))
                            return null;
                        continue;
                    case EventLogRequestRefused refused:
                        throw new EventClusterRejectedException($"refused: {refused.Reason}", refused.Reason);
                    default:
                        throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}");
                }
            }

            return null;
        }

        /// <summary>Waits; false when the subscription stops first.</summary>
        public async Task<bool> Pause(TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, stop);
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    /// <summary>The active membership of a group: its position confirmed in the cluster, its lease renewed.</summary>
    private sealed class GroupMembership
    {
        private static readonly TimeSpan ConfirmInterval = TimeSpan.FromSeconds(1);

        /// <summary>How old the last confirmation may be while events are handed out: well inside the 5 s lease.</summary>
        private static readonly TimeSpan LeaseSafety = TimeSpan.FromSeconds(3);

        private const int ConfirmEvery = 1000;

        private readonly Requests _requests;
        private readonly string _group;
        private readonly string _member = Guid.NewGuid().ToString("N");
        private readonly CancellationTokenSource _renewing = new();
        private readonly SemaphoreSlim _confirming = new(1, 1);
        private Task _renewal = Task.CompletedTask;
        private long _position;
        private long _confirmed;
        private long _sinceConfirm;
        private DateTime _confirmedAt = DateTime.UtcNow;
        private volatile bool _lost;

        private GroupMembership(Requests requests, string group)
        {
            _requests = requests;
            _group = group;
        }

        public long Position => Interlocked.Read(ref _position);

        public bool Created { get; private set; }

        /// <summary>Joins the group, waiting as a standby while another member is active; null when stopped first.</summary>
        public static async Task<GroupMembership?> JoinAsync(Requests requests, string group, long from)
        {
            var membership = new GroupMembership(requests, group);
            var standby = false;
            while (true)
            {
                var requestId = Guid.NewGuid().ToString("N");
                var joined = await requests.RequestAsync<GroupJoined>(requestId, new JoinGroup(requestId, group, membership._member, from));
                if (joined is null)
                    return null;
                if (!joined.Held)
                {
                    membership._position = membership._confirmed = joined.Position;
                    membership.Created = joined.Created;
                    membership._renewal = membership.RenewAsync();
                    return membership;
                }

                if (!standby)
                {
                    standby = true;
                    requests.Notify(SubscriptionNoticeKind.GroupStandby,
                        $"group {group} is held by another subscriber; waiting as a standby until it goes away");
                }

                if (!await requests.Pause(TimeSpan.FromSeconds(1)))
                    return null;
            }
        }

        public EventClusterRejectedException Lost() =>
            new($"group {_group} was taken over by another subscriber (this one missed its confirmations); stopping", "group taken over");

        /// <summary>Everything up to <paramref name="position"/> was handled; confirms after 1,000 events. False when the group was lost.</summary>
        public async Task<bool> HandledAsync(long position)
        {
            var before = Interlocked.Exchange(ref _position, position);
            if (position > before)
                _sinceConfirm++;
            if (_sinceConfirm >= ConfirmEvery)
                await ConfirmAsync(leave: false);
            return !_lost;
        }

        /// <summary>
        /// Makes sure the membership is still held before events are handed out: once the last
        /// successful confirmation is older than <see cref="LeaseSafety"/>, a standby could take
        /// over soon, so this waits until a confirmation goes through. False when the group was
        /// lost (or the subscription is stopping).
        /// </summary>
        public async Task<bool> EnsureActiveAsync()
        {
            while (DateTime.UtcNow - _confirmedAt > LeaseSafety)
            {
                if (_lost || _requests.Stop.IsCancellationRequested)
                    break;
                await ConfirmAsync(leave: false);
                if (DateTime.UtcNow - _confirmedAt <= LeaseSafety || _lost)
                    break;
                if (!await _requests.Pause(TimeSpan.FromMilliseconds(500)))
                    return false;
            }

            return !_lost && !_requests.Stop.IsCancellationRequested;
        }

        /// <summary>
        /// Confirms the last position handled and steps down, so a standby takes over at once. It
        /// runs while the subscription ends, perhaps on an exception of its reader, so it throws
        /// nothing of its own: a failure is reported as a notice.
        /// </summary>
        public async Task LeaveAsync()
        {
            await _renewing.CancelAsync();
            await _renewal;
            if (_lost)
                return;
            var requestId = Guid.NewGuid().ToString("N");
            var position = Position;
            try
            {
                var reply = await _requests.Connection.ListenAsync(requestId,
                    new ConfirmGroup(requestId, _group, _member, position, Leave: true), TimeSpan.FromSeconds(10));
                if (reply is GroupConfirmed { Stored: true })
                    _requests.Notify(SubscriptionNoticeKind.GroupConfirmed, $"group {_group}: confirmed position {position}", position);
                else
                    _requests.Notify(SubscriptionNoticeKind.Warning, $"group {_group}: the last position {position} was not confirmed ({Describe(reply)})", position);
            }
            catch (Exception ex) when (ex is TimeoutException or ObjectDisposedException or OperationCanceledException)
            {
                _requests.Notify(SubscriptionNoticeKind.Warning,
                    $"group {_group}: no answer to the last confirmation; a new subscriber repeats the events after position {_confirmed}", _confirmed);
            }
        }

        /// <summary>Confirms at least every second, which also keeps the membership's lease.</summary>
        private async Task RenewAsync()
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
            try
            {
                while (await timer.WaitForNextTickAsync(_renewing.Token))
                {
                    if (DateTime.UtcNow - _confirmedAt >= ConfirmInterval)
                        await ConfirmAsync(leave: false);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                // Leaving, or the client was disposed under the subscription.
            }
        }

        private async Task ConfirmAsync(bool leave)
        {
            await _confirming.WaitAsync();
            try
            {
                var position = Position;
                var requestId = Guid.NewGuid().ToString("N");
                object reply;
                try
                {
                    reply = await _requests.Connection.ListenAsync(requestId, new ConfirmGroup(requestId, _group, _member, position, leave),
                        TimeSpan.FromSeconds(3));
                }
                catch (TimeoutException)
                {
                    return;
                }

                if (reply is GroupConfirmed confirmed)
                {
                    if (!confirmed.Stored)
                        _lost = true;
                    else
                    {
                        _confirmed = position;
                        _confirmedAt = DateTime.UtcNow;
                        _sinceConfirm = 0;
                    }
                }
            }
            finally
            {
                _confirming.Release();
            }
        }

        private static string Describe(object reply) => reply switch
        {
            GroupConfirmed => "another subscriber holds the group now",
            EventLogRequestRefused refused => refused.Reason,
            _ => reply.GetType().Name,
        };
    }
}
