using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;

namespace EventCluster.Node.Subscriptions;

/// <summary>
/// The node's reader of the event log, serving subscriptions, Server-Sent Events, history and groups.
/// </summary>
/// <remarks>
/// <para>It follows the end of the log itself (the <i>tail</i>): one unfiltered query reads what
/// was committed after the last position it read, and the recent events stay in memory. A
/// subscriber near the end is answered from memory; one further back reads its own pages from
/// the database. A subscriber that has seen everything is held (a long poll) and answered the
/// moment a matching event arrives.</para>
/// <para>The tail reads when a node announces a commit (<see cref="EventsCommitted"/> over
/// distributed pub/sub, sent by the writer after each commit) and once a second as a safety net.
/// Idle subscribers cost no query at all: however many there are, a node queries at most once a
/// second when nothing is written.</para>
/// <para>A node nobody reads from rests instead: once no request came for <see cref="IdleAfter"/>
/// and none waits, the tail stops reading (every commit of the cluster would otherwise be read
/// and decoded again on every node) and forgets its recent events. The next request starts it
/// again at the end of the log, as at start; a reader further back reads from the database.</para>
/// </remarks>
public sealed class EventLogActor : ReceiveActor, IWithTimers
{
    /// <summary>The actor's name on every node.</summary>
    public const string Name = "event-log";

    /// <summary>How often the tail reads when no commit is announced.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long after the last request the tail goes on reading.</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ExpiryInterval = TimeSpan.FromMilliseconds(100);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly EventLog _eventLog;
    private readonly int _capacity;
    private readonly List<EventRecord> _recent = [];
    private readonly List<Waiter> _waiters = [];
    private readonly List<(AwaitLogPosition Request, IActorRef ReplyTo)> _positionWaiters = [];
    private long _head = -1;
    private long _bufferFrom = -1;
    private bool _reading;
    private bool _readAgain;
    private DateTime _lastFailureLogged = DateTime.MinValue;
    private DateTime _lastRequest = DateTime.MinValue;

    /// <summary>Creates the reader; <paramref name="capacity"/> recent events stay in memory.</summary>
    public EventLogActor(EventLog eventLog, int capacity)
    {
        _eventLog = eventLog;
        _capacity = capacity;
        Receive<ReadEventLog>(HandleRead);
        Receive<GetEntityHistory>(HandleHistory);
        Receive<JoinGroup>(HandleJoin);
        Receive<ConfirmGroup>(HandleConfirm);
        Receive<GetGroups>(query => Answer(_eventLog.ListGroupsAsync(query.RequestId), query.RequestId, "listing the groups"));
        Receive<EventsCommitted>(notice =>
        {
            if (notice.Position > _head)
                ReadTail();
        });
        Receive<Poll>(_ =>
        {
            if (_head >= 0)
                ReadTail();
            else if (!Idle)
                Start();
        });
        Receive<ExpireWaiters>(_ => Expire());
        Receive<Started>(started =>
        {
            _reading = false;
            _head = _bufferFrom = started.Head;
            _log.Info("Event log reader started at position {0}", started.Head);
            RetryWaiters();
        });
        Receive<TailRead>(HandleTail);
        Receive<AwaitLogPosition>(request =>
        {
            Requested();
            if (_head >= request.Position)
                Sender.Tell(new LogPositionReached(request.RequestId, _head));
            else
            {
                _positionWaiters.Add((request, Sender));
                ReadTail();
            }
        });
        Receive<EventsErased>(erased =>
        {
            foreach (var position in erased.Positions)
            {
                var index = FirstAfter(position - 1);
                if (index < _recent.Count && _recent[index].Position == position && !_recent[index].Erased)
                    _recent[index] = Tombstone(_recent[index], DateTimeOffset.UtcNow) with { EventId = _recent[index].EventId };
            }
        });
        Receive<Status.Failure>(failure =>
        {
            _reading = false;
            if (DateTime.UtcNow - _lastFailureLogged > TimeSpan.FromSeconds(10))
            {
                _lastFailureLogged = DateTime.UtcNow;
                _log.Warning("Event log reader could not read the journal: {0}", failure.Cause.GetBaseException().Message);
            }
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the reader.</summary>
    public static Props Props(EventLog eventLog, int capacity) => Akka.Actor.Props.Create(() => new EventLogActor(eventLog, capacity));

    /// <inheritdoc />
    protected override void PreStart()
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(EventsCommitted.Topic, Self));
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(EventsErased.Topic, Self));
        Timers.StartPeriodicTimer("poll", Poll.Instance, PollInterval);
        Timers.StartPeriodicTimer("expire", ExpireWaiters.Instance, ExpiryInterval);
        Start();
    }

    /// <summary>Nobody waits and nobody asked for <see cref="IdleAfter"/>: the tail may rest.</summary>
    private bool Idle => _waiters.Count == 0 && _positionWaiters.Count == 0 && DateTime.UtcNow - _lastRequest > IdleAfter;

    /// <summary>A reader asked: the tail reads again, from the end of the log, if it rested.</summary>
    private void Requested()
    {
        _lastRequest = DateTime.UtcNow;
        if (_head < 0)
            Start();
    }

    /// <summary>Stops following the log and forgets the recent events; <see cref="Requested"/> starts it again.</summary>
    private void Rest()
    {
        _head = _bufferFrom = -1;
        _recent.Clear();
        _readAgain = false;
        _log.Info("Event log reader resting: no reader for {0} s; the next request starts it at the end of the log", IdleAfter.TotalSeconds);
    }

    /// <summary>Learns the end of the log, where the tail starts; retried every poll until the database answers.</summary>
    private void Start()
    {
        if (_reading)
            return;
        _reading = true;
        _eventLog.HeadAsync().PipeTo(Self, success: head => new Started(head));
    }

    private void HandleRead(ReadEventLog request)
    {
        var problem = Check(request);
        if (problem is not null)
        {
            Sender.Tell(new EventLogRequestRefused(request.RequestId ?? "", problem, false));
            return;
        }

        Requested();
        var waiter = new Waiter(request, Sender, DateTime.UtcNow + TimeSpan.FromMilliseconds(request.WaitMilliseconds));
        if (!TryAnswer(waiter, expired: request.WaitMilliseconds == 0))
            _waiters.Add(waiter);
    }

    /// <summary>
    /// Answers a reader from memory or the database when it can; false when it has to wait for new
    /// events. A reader is held only while it has seen everything the node knows.
    /// </summary>
    private bool TryAnswer(Waiter waiter, bool expired)
    {
        var request = waiter.Request;
        if (_head < 0)
        {
            if (!expired)
                return false;
            // Not started yet: the database answers.
            FromDatabase(waiter);
            return true;
        }

        if (request.After == ReadEventLog.FromEnd)
        {
            waiter.ReplyTo.Tell(new EventLogPage(request.RequestId, [], _head, _head));
            return true;
        }

        if (request.After < _bufferFrom)
        {
            FromDatabase(waiter);
            return true;
        }

        if (request.After >= _head)
        {
            if (!expired)
                return false;
            // This node has not read that far yet (the reader came from a node ahead of it): nothing to add.
            waiter.ReplyTo.Tell(new EventLogPage(request.RequestId, [], request.After, Math.Max(request.After, _head)));
            return true;
        }

        var events = new List<EventRecord>();
        var through = _head;
        var bytes = 0;
        for (var i = FirstAfter(request.After); i < _recent.Count; i++)
        {
            var record = _recent[i];
            if (!request.Filter.Matches(record))
                continue;
            events.Add(record);
            bytes += record.Data.Length + 128;
            if (events.Count >= request.MaxEvents || bytes >= EventLog.BytesPerPage)
            {
                through = record.Position;
                break;
            }
        }

        if (events.Count == 0 && !expired)
            return false;
        waiter.ReplyTo.Tell(new EventLogPage(request.RequestId, events, through, _head));
        return true;
    }

    private void FromDatabase(Waiter waiter)
    {
        var request = waiter.Request;
        _eventLog.ReadPageAsync(request.RequestId, request.After, request.Filter, request.MaxEvents)
            .PipeTo(waiter.ReplyTo, failure: ex => Refuse(request.RequestId, "reading the event log", ex));
    }

    /// <summary>Index of the first recent event with a position above <paramref name="position"/>.</summary>
    private int FirstAfter(long position)
    {
        int low = 0, high = _recent.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_recent[middle].Position <= position)
                low = middle + 1;
            else
                high = middle;
        }

        return low;
    }

    private void ReadTail()
    {
        if (_head < 0)
            return;
        if (Idle)
        {
            Rest();
            return;
        }

        if (_reading)
        {
            _readAgain = true;
            return;
        }

        _reading = true;
        _readAgain = false;
        _eventLog.ReadTailAsync(_head).PipeTo(Self, success: read => new TailRead(read.Events, read.Through, read.More));
    }

    private void HandleTail(TailRead read)
    {
        _reading = false;
        if (_head < 0)
        {
            // It rested while this read ran; a request since then could not start it.
            if (!Idle)
                Start();
            return;
        }

        if (read.Through > _head)
        {
            _recent.AddRange(read.Events);
            _head = read.Through;
            foreach (var notice in read.Events.Where(record => record.Type == EventRecord.EntityErasedType))
                ForgetErased(notice);
            if (_recent.Count > _capacity + _capacity / 2)
            {
                var drop = _recent.Count - _capacity;
                _bufferFrom = _recent[drop - 1].Position;
                _recent.RemoveRange(0, drop);
            }

            RetryWaiters();
        }

        if (read.More || _readAgain)
            ReadTail();
    }

    /// <summary>Replaces the remembered events of an erased entity with tombstones, as the journal now holds them.</summary>
    private void ForgetErased(EventRecord notice)
    {
        for (var i = 0; i < _recent.Count && _recent[i].Position < notice.Position; i++)
        {
            if (_recent[i].EntityId == notice.EntityId && !_recent[i].Erased)
                _recent[i] = Tombstone(_recent[i], notice.At);
        }
    }

    /// <summary>A tombstone in place of <paramref name="record"/>, as <see cref="EventLog"/> reads one from the journal.</summary>
    private static EventRecord Tombstone(EventRecord record, DateTimeOffset at) =>
        record with { EventId = "", Type = EventRecord.ErasedType, Data = "{}", At = at, Erased = true };

    private void RetryWaiters()
    {
        if (_positionWaiters.Count > 0)
        {
            _positionWaiters.RemoveAll(waiter =>
            {
                if (_head < waiter.Request.Position)
                    return false;
                waiter.ReplyTo.Tell(new LogPositionReached(waiter.Request.RequestId, _head));
                return true;
            });
        }

        if (_waiters.Count == 0)
            return;
        var now = DateTime.UtcNow;
        _waiters.RemoveAll(waiter => TryAnswer(waiter, waiter.Deadline <= now));
    }

    private void Expire()
    {
        if (_waiters.Count == 0)
            return;
        var now = DateTime.UtcNow;
        _waiters.RemoveAll(waiter => waiter.Deadline <= now && TryAnswer(waiter, expired: true));
    }

    private void HandleHistory(GetEntityHistory query)
    {
        var problem = query.RequestId is null ? "a request id is required"
            : EventValidation.CheckEntityId(query.EntityId)
              ?? (query.FromVersion < 1 ? $"from version {query.FromVersion} must be 1 or more" : null)
              ?? (query.Limit is < 1 or > GetEntityHistory.MaxLimit ? $"limit {query.Limit} must be from 1 to {GetEntityHistory.MaxLimit}" : null);
        if (problem is not null)
            Sender.Tell(new EventLogRequestRefused(query.RequestId ?? "", problem, false));
        else
            Answer(_eventLog.ReadHistoryAsync(query), query.RequestId!, $"reading the history of {query.EntityId}");
    }

    private void HandleJoin(JoinGroup join)
    {
        var problem = join.RequestId is null ? "a request id is required"
            : EventValidation.CheckGroup(join.Group) ?? EventValidation.CheckName("member id", join.Member)
              ?? (join.From < ReadEventLog.FromEnd ? $"position {join.From} must be 0 or more" : null);
        if (problem is not null)
            Sender.Tell(new EventLogRequestRefused(join.RequestId ?? "", problem, false));
        else
            Answer(_eventLog.JoinGroupAsync(join), join.RequestId!, $"joining group {join.Group}");
    }

    private void HandleConfirm(ConfirmGroup confirm)
    {
        var problem = confirm.RequestId is null ? "a request id is required"
            : EventValidation.CheckGroup(confirm.Group) ?? EventValidation.CheckName("member id", confirm.Member)
              ?? (confirm.Position < 0 ? $"position {confirm.Position} must be 0 or more" : null);
        if (problem is not null)
            Sender.Tell(new EventLogRequestRefused(confirm.RequestId ?? "", problem, false));
        else
            Answer(_eventLog.ConfirmGroupAsync(confirm), confirm.RequestId!, $"confirming group {confirm.Group}");
    }

    private void Answer<T>(Task<T> work, string requestId, string what) =>
        work.PipeTo(Sender, failure: ex => Refuse(requestId, what, ex));

    private EventLogRequestRefused Refuse(string requestId, string what, Exception ex)
    {
        _log.Warning("Failed {0}: {1}", what, ex.GetBaseException().Message);
        return new EventLogRequestRefused(requestId, $"{what} failed: {ex.GetBaseException().Message}", true);
    }

    private static string? Check(ReadEventLog request) =>
        request.RequestId is null ? "a request id is required"
        : EventValidation.CheckFilter(request.Filter)
          ?? (request.After < ReadEventLog.FromEnd ? $"position {request.After} must be 0 or more" : null)
          ?? (request.MaxEvents is < 1 or > ReadEventLog.MaxPage ? $"page size {request.MaxEvents} must be from 1 to {ReadEventLog.MaxPage}" : null)
          ?? (request.WaitMilliseconds is < 0 or > ReadEventLog.MaxWaitMilliseconds
              ? $"wait {request.WaitMilliseconds} ms must be from 0 to {ReadEventLog.MaxWaitMilliseconds}" : null);

    private sealed record Waiter(ReadEventLog Request, IActorRef ReplyTo, DateTime Deadline);

    private sealed record Started(long Head);

    private sealed record TailRead(List<EventRecord> Events, long Through, bool More);

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }

    private sealed class ExpireWaiters
    {
        public static readonly ExpireWaiters Instance = new();
    }
}
