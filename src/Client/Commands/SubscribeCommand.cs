using System.Runtime.InteropServices;
using System.Text;
using EventCluster.Client.Cli;
using EventCluster.Client.Connection;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;

namespace EventCluster.Client.Commands;

/// <summary>
/// <c>subscribe</c>: prints the events of the log that match a filter, in position order: the
/// stored ones, then live ones as they are committed.
/// </summary>
/// <remarks>
/// The command keeps its own cursor, the last position it has seen everything up to, and asks
/// any node for what comes after it. A page is only taken in once; a node that dies mid-request
/// costs a retry of the same request through another node, never a skipped or repeated event.
/// With a group, the cluster keeps the cursor: the command confirms it at least every second
/// and every 1,000 events, and on a normal exit.
/// </remarks>
public static class SubscribeCommand
{
    /// <summary>How long a node may hold a request of a subscriber that has seen everything.</summary>
    private const int LongPollMilliseconds = 3000;

    /// <summary>How long a request may go unanswered before it is sent again (through another node if this one died).</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMilliseconds(LongPollMilliseconds) + TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ConfirmInterval = TimeSpan.FromSeconds(1);

    /// <summary>How old the last confirmation may be while events are printed: well inside the 5 s lease.</summary>
    private static readonly TimeSpan LeaseSafety = TimeSpan.FromSeconds(3);
    private const int ConfirmEvery = 1000;

    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, IReadOnlyList<string> seeds, TimeSpan? timeout)
    {
        args.AllowOnly("--from", "--type", "--entity", "--entity-prefix", "--group", "--max", "--json");
        var fromText = args.Value("--from") ?? "start";
        if (!Positions.TryParseFrom(fromText, out var from))
            throw new UsageException($"--from '{fromText}' must be start, end or a position (a whole number of 0 or more)");
        var filter = new EventFilter(args.Values("--type"), args.Value("--entity"), args.Value("--entity-prefix"));
        if (EventValidation.CheckFilter(filter) is { } filterProblem)
            throw new UsageException(filter is { EntityId: not null, EntityPrefix: not null } ? "give --entity or --entity-prefix, not both" : filterProblem);
        var group = args.Value("--group");
        if (group is not null && EventValidation.CheckGroup(group) is { } groupProblem)
            throw new UsageException(groupProblem);
        var max = args.Integer("--max", long.MaxValue, 1, long.MaxValue);
        var json = args.Flag("--json");
        var connectTimeout = timeout ?? TimeSpan.FromSeconds(30);

        using var stop = new CancellationTokenSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, stop));
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, stop));

        await using var connection = ClusterConnection.Connect(seeds);
        var subscription = new Subscription(connection, seeds, connectTimeout, stop.Token);
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        GroupMembership? membership = null;
        try
        {
            long cursor;
            if (group is null)
                cursor = from;
            else
            {
                membership = await GroupMembership.JoinAsync(subscription, group, from);
                if (membership is null)
                    return ExitCodes.Success;
                cursor = membership.Position;
                Console.Error.WriteLine($"group {group}: active from position {cursor}" + (membership.Created ? " (new group)" : ""));
            }

            var printed = 0L;
            var caughtUp = false;
            while (!stop.IsCancellationRequested && printed < max)
            {
                var requestId = Guid.NewGuid().ToString("N");
                var page = await subscription.RequestAsync<EventLogPage>(requestId,
                    new ReadEventLog(requestId, cursor, filter, (int)Math.Min(ReadEventLog.MaxPage, max - printed), caughtUp ? LongPollMilliseconds : 0));
                if (page is null)
                    break;
                if (membership is not null && page.Events.Count > 0 && !await membership.EnsureActiveAsync())
                    return stop.IsCancellationRequested ? ExitCodes.Success : ExitCodes.Rejected;
                foreach (var record in page.Events)
                {
                    if (record.Position <= cursor)
                        continue;
                    stdout.WriteLine(json ? EventLines.Json(record) : EventLines.Text(record));
                    cursor = record.Position;
                    if (++printed >= max)
                        break;
                }

                if (printed < max)
                    cursor = Math.Max(cursor, page.Through);
                await stdout.FlushAsync(CancellationToken.None);
                if (!caughtUp && page.CaughtUp)
                {
                    caughtUp = true;
                    Console.Error.WriteLine($"caught up at {cursor}");
                }

                if (membership is not null && !await membership.HandledAsync(cursor, page.Events.Count))
                    return ExitCodes.Rejected;
            }

            return ExitCodes.Success;
        }
        catch (SubscriptionEndedException ex)
        {
            Output.Error(ex.Message);
            return ex.ExitCode;
        }
        finally
        {
            await stdout.FlushAsync(CancellationToken.None);
            if (membership is not null)
                await membership.LeaveAsync();
        }
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        context.Cancel = true;
        stop.Cancel();
    }

    /// <summary>The subscription's requests: retried until a node answers, or the command stops.</summary>
    private sealed class Subscription(ClusterConnection connection, IReadOnlyList<string> seeds, TimeSpan connectTimeout, CancellationToken stop)
    {
        private bool _answered;
        private bool _warned;
        private readonly DateTime _started = DateTime.UtcNow;

        public ClusterConnection Connection => connection;

        public CancellationToken Stop => stop;

        /// <summary>
        /// The reply of type <typeparamref name="T"/>, asking again after a time-out or a
        /// retryable refusal; null when the command is stopping.
        /// </summary>
        public async Task<T?> RequestAsync<T>(string requestId, Messages.IEventClusterMessage request) where T : class
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
                        throw new SubscriptionEndedException(ConnectionErrors.NoAnswer(seeds, connectTimeout, "the subscription").Message,
                            ExitCodes.Unreachable);
                    if (_answered && !_warned)
                    {
                        _warned = true;
                        Output.Error("no answer from the cluster; asking again (the subscription resumes where it stopped)");
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
                            Output.Error("the cluster answers again");
                        }

                        return answer;
                    case SubscriptionRefused { Retryable: true } refused:
                        if (!_warned)
                        {
                            _warned = true;
                            Output.Error($"{refused.Reason}; asking again");
                        }

                        await Delay(TimeSpan.FromSeconds(1));
                        continue;
                    case SubscriptionRefused refused:
                        throw new SubscriptionEndedException($"refused: {refused.Reason}", ExitCodes.Rejected);
                    default:
                        throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}");
                }
            }

            return null;
        }

        private async Task Delay(TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, stop);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        }
    }

    /// <summary>The active membership of a group: its position confirmed in the cluster, its lease renewed.</summary>
    private sealed class GroupMembership
    {
        private readonly Subscription _subscription;
        private readonly string _group;
        private readonly string _member = Guid.NewGuid().ToString("N");
        private readonly CancellationTokenSource _renewing = new();
        private Task _renewal = Task.CompletedTask;
        private long _position;
        private long _confirmed;
        private long _sinceConfirm;
        private DateTime _confirmedAt = DateTime.UtcNow;
        private volatile bool _lost;

        private GroupMembership(Subscription subscription, string group)
        {
            _subscription = subscription;
            _group = group;
        }

        public long Position => Interlocked.Read(ref _position);

        public bool Created { get; private set; }

        /// <summary>Joins the group, waiting as a standby while another member is active; null when stopped first.</summary>
        public static async Task<GroupMembership?> JoinAsync(Subscription subscription, string group, long from)
        {
            var membership = new GroupMembership(subscription, group);
            var standby = false;
            while (true)
            {
                var requestId = Guid.NewGuid().ToString("N");
                var joined = await subscription.RequestAsync<GroupJoined>(requestId, new JoinGroup(requestId, group, membership._member, from));
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
                    Console.Error.WriteLine($"group {group} is held by another subscriber; waiting as a standby until it goes away");
                }

                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), subscription.Stop);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }
        }

        /// <summary>Records that everything up to <paramref name="position"/> was printed; confirms after 1,000 events. False when the group was lost.</summary>
        public async Task<bool> HandledAsync(long position, int events)
        {
            Interlocked.Exchange(ref _position, position);
            _sinceConfirm += events;
            if (_sinceConfirm >= ConfirmEvery)
                await ConfirmAsync(leave: false);
            if (_lost)
                Output.Error($"group {_group} was taken over by another subscriber (this one missed its confirmations); stopping");
            return !_lost;
        }

        /// <summary>
        /// Makes sure the membership is still held before events are printed: once the last
        /// successful confirmation is older than <see cref="LeaseSafety"/>, a standby could take
        /// over soon, so printing waits until a confirmation goes through. False when the group
        /// was lost (or the command is stopping).
        /// </summary>
        public async Task<bool> EnsureActiveAsync()
        {
            while (DateTime.UtcNow - _confirmedAt > LeaseSafety)
            {
                if (_lost || _subscription.Stop.IsCancellationRequested)
                    break;
                await ConfirmAsync(leave: false);
                if (DateTime.UtcNow - _confirmedAt <= LeaseSafety || _lost)
                    break;
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(500), _subscription.Stop);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }

            if (_lost)
                Output.Error($"group {_group} was taken over by another subscriber (this one missed its confirmations); stopping");
            return !_lost && !_subscription.Stop.IsCancellationRequested;
        }

        /// <summary>Confirms the last position and steps down, so a standby takes over at once.</summary>
        public async Task LeaveAsync()
        {
            await _renewing.CancelAsync();
            await _renewal;
            if (_lost)
                return;
            var requestId = Guid.NewGuid().ToString("N");
            try
            {
                var position = Position;
                var reply = await _subscription.Connection.ListenAsync(requestId,
                    new ConfirmGroup(requestId, _group, _member, position, Leave: true), TimeSpan.FromSeconds(10));
                if (reply is GroupConfirmed { Stored: true })
                    Console.Error.WriteLine($"group {_group}: confirmed position {position}");
                else
                    Output.Error($"group {_group}: the last position {position} was not confirmed ({Describe(reply)})");
            }
            catch (TimeoutException)
            {
                Output.Error($"group {_group}: no answer to the last confirmation; a new subscriber repeats the events after position {_confirmed}");
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
            catch (OperationCanceledException)
            {
                // Leaving.
            }
        }

        private readonly SemaphoreSlim _confirming = new(1, 1);

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
                    reply = await _subscription.Connection.ListenAsync(requestId, new ConfirmGroup(requestId, _group, _member, position, leave),
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
            SubscriptionRefused refused => refused.Reason,
            _ => reply.GetType().Name,
        };
    }

    /// <summary>The subscription cannot go on.</summary>
    private sealed class SubscriptionEndedException(string message, int exitCode) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }
}
