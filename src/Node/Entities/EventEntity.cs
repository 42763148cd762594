using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Node.Journal;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Entities;

/// <summary>
/// One event-sourced entity: persists each new event, folds it into its state, and only then
/// acknowledges. Events it has applied before are acknowledged as duplicates and change nothing.
/// </summary>
public sealed class EventEntity : ReceivePersistentActor
{
    /// <summary>
    /// A snapshot every 1,000 events bounds recovery to one snapshot plus at most 999 events
    /// while costing one snapshot write per thousand event writes.
    /// </summary>
    public const int SnapshotEvery = 1000;

    /// <summary>Senders of held-back events remembered at most; more wait for their own time-out.</summary>
    private const int MaxHeldBack = 1000;

    /// <summary>Idle time after which an entity stops while its node holds over twice its entity limit.</summary>
    public static readonly TimeSpan OvercrowdedIdleTimeout = TimeSpan.FromMilliseconds(250);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _node;
    private readonly EntityPassivation _passivation;
    private readonly JournalPositions _positions = JournalPositions.For(Context.System);
    private readonly NodeMetrics _metrics = NodeMetrics.Of(Context.System);
    private readonly NodeTracing _tracing = NodeTracing.Of(Context.System);
    private EntityState _state;
    private TimeSpan? _idleTimeout;

    // Events that arrived while the entity recovered or waited for a write: Akka.Persistence
    // holds them back and, should that recovery or write fail, drops them with the entity.
    // Their senders are told instead.
    private List<(IActorRef Sender, string EventId)>? _heldBack;
    private bool _persisting;

    // The span of the event being persisted, when the node traces.
    private System.Diagnostics.Activity? _persistSpan;

    public EventEntity(string entityId, string node, EntityPassivation passivation)
    {
        _node = node;
        _passivation = passivation;
        _state = EntityState.Empty(entityId);
        PersistenceId = PersistenceIdOf(entityId);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is EntitySnapshot snapshot)
                _state = EntityState.FromSnapshot(entityId, snapshot);
        });
        Recover<EventApplied>(evt => _state = _state.Apply(evt, LastSequenceNr, _positions.Take(PersistenceId, LastSequenceNr)));
        Recover<RecoveryCompleted>(_ => _heldBack = null);

        Command<SubmitEvent>(command =>
        {
            Handle(command);
            KeepMemoryBounded();
        });
        Command<GetEntityState>(_ =>
        {
            Sender.Tell(_state.ToResult(_node));
            KeepMemoryBounded();
        });
        Command<StopEntity>(_ => Context.Stop(Self));
        Command<ReceiveTimeout>(_ =>
        {
            // The node may have dropped back under its limit since this entity was last used.
            KeepMemoryBounded();
            if (_idleTimeout is not null)
                Context.Parent.Tell(new Passivate(StopEntity.Instance));
        });
        Command<SaveSnapshotSuccess>(success =>
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure =>
            _log.Warning(failure.Cause, "Snapshot of {0} at version {1} failed; recovery replays more events",
                PersistenceId, failure.Metadata.SequenceNr));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure =>
            _log.Warning(failure.Cause, "Deleting old snapshots of {0} failed", PersistenceId));
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <inheritdoc />
    protected override void PreStart()
    {
        _metrics.EntityStarted();
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _metrics.EntityStopped();
        NodeTracing.Stop(_persistSpan, "the entity stopped before its write completed");
        base.PostStop();
    }

    /// <summary>
    /// The journal could not store an event (database down, slow or full): its sender hears why at
    /// once instead of waiting for a time-out. The entity then stops, as Akka.Persistence requires
    /// after a failed write; the next event starts it again from the journal.
    /// </summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        if (@event is EventApplied evt)
            Sender.Tell(new EventNotStored(_state.EntityId, evt.EventId, NotStoredReason("the journal could not store the event", cause)));
        EndPersistSpan(cause.GetBaseException().Message);
        TellHeldBack(NotStoredReason("the journal could not store an earlier event of the entity", cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>The journal refused the event before writing it (it could not be serialized): its sender is told; the entity goes on.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _persisting = false;
        _heldBack = null;
        if (@event is EventApplied evt)
            Sender.Tell(new EventNotStored(_state.EntityId, evt.EventId, $"the journal refused the event: {cause.GetBaseException().Message}"));
        EndPersistSpan(cause.GetBaseException().Message);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override bool AroundReceive(Receive receive, object message)
    {
        if ((IsRecovering || _persisting) && message is SubmitEvent submit && (_heldBack ??= []).Count < MaxHeldBack)
            _heldBack.Add((Sender, submit.EventId));
        return base.AroundReceive(receive, message);
    }

    /// <summary>
    /// The journal could not recover the entity (database down or slow): the events that waited
    /// for the recovery are answered with the reason before the entity stops.
    /// </summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        TellHeldBack(NotStoredReason("the journal could not recover the entity", reason));
        base.OnRecoveryFailure(reason, message);
    }

    /// <summary>
    /// Why an event was not stored. A write the journal gave up on after its time-out may still
    /// have been committed: the sender is told to resend with the same id, which is then answered
    /// as a duplicate if it was.
    /// </summary>
    private static string NotStoredReason(string what, Exception cause) =>
        cause.GetBaseException() is TimeoutException or OperationCanceledException
            ? $"{what} in time (it may have been stored; resending the same event id is safe): {cause.GetBaseException().Message}"
            : $"{what}: {cause.GetBaseException().Message}";

    private void TellHeldBack(string reason)
    {
        foreach (var (sender, eventId) in _heldBack ?? [])
            sender.Tell(new EventNotStored(_state.EntityId, eventId, reason));
        _heldBack = null;
    }

    /// <summary>The journal's persistence id of an entity.</summary>
    public static string PersistenceIdOf(string entityId) => $"entity-{entityId}";

    public static Props Props(string entityId, string node, EntityPassivation passivation) =>
        Akka.Actor.Props.Create(() => new EventEntity(entityId, node, passivation));

    /// <summary>
    /// While the node holds more entities than its limit, an entity stops after a short idle time
    /// instead of the region's long one, and beyond twice the limit after a quarter of a second:
    /// memory stays bounded however many distinct entities are used and however fast they
    /// arrive, and entities in steady use are never stopped.
    /// </summary>
    private void KeepMemoryBounded()
    {
        var active = _metrics.ActiveEntities;
        var limit = _passivation.ActiveEntityLimit;
        TimeSpan? idle = active / 2 > limit ? Min(_passivation.CrowdedIdleTimeout, OvercrowdedIdleTimeout)
            : active > limit ? _passivation.CrowdedIdleTimeout
            : null;
        if (idle == _idleTimeout)
            return;
        _idleTimeout = idle;
        SetReceiveTimeout(idle);
    }

    private void EndPersistSpan(string? error)
    {
        NodeTracing.Stop(_persistSpan, error);
        _persistSpan = null;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private void Handle(SubmitEvent command)
    {
        if (_state.HasApplied(command.EventId))
        {
            Sender.Tell(new EventAccepted(_state.EntityId, command.EventId, _state.Version, _node, Duplicate: true,
                _state.PositionOf(command.EventId)));
            _metrics.EventDuplicate();
            return;
        }

        var evt = new EventApplied(command.EventId, command.Type, command.Data, DateTimeOffset.UtcNow);
        string mergedData;
        string? problem;
        try
        {
            problem = _state.CheckApplicable(evt, out mergedData);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            problem = $"data is not valid JSON: {ex.Message}";
            mergedData = _state.Data;
        }

        if (problem is not null)
        {
            Sender.Tell(new EventRejected(_state.EntityId, command.EventId, problem));
            _metrics.EventRejected();
            return;
        }

        var received = System.Diagnostics.Stopwatch.GetTimestamp();
        _persistSpan = _tracing.Start(NodeTracing.EntitySpan, command.TraceParent);
        if (_persistSpan is not null)
        {
            _persistSpan.SetTag("eventcluster.entity_id", _state.EntityId);
            _persistSpan.SetTag("eventcluster.event_id", command.EventId);
            _tracing.ExpectWrite(PersistenceId, _persistSpan.Context);
        }

        _persisting = true;
        Persist(evt, persisted =>
        {
            _persisting = false;
            _heldBack = null;
            EndPersistSpan(null);
            var position = _positions.Take(PersistenceId, LastSequenceNr);
            _state = _state.Apply(persisted, LastSequenceNr, position, mergedData);
            Sender.Tell(new EventAccepted(_state.EntityId, persisted.EventId, _state.Version, _node, Duplicate: false, position));
            _metrics.EventAccepted(System.Diagnostics.Stopwatch.GetElapsedTime(received));
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(_state.ToSnapshot());
        });
    }
}
