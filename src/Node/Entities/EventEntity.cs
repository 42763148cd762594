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
    private List<(IActorRef Sender, object Command)>? _heldBack;
    private bool _persisting;

    // The events of one SubmitEntityEvents being persisted together, answered once all are done.
    private PendingGroup? _group;

    // The span of the event being persisted, when the node traces.
    private System.Diagnostics.Activity? _persistSpan;

    // True while the journal erases the entity: every other message waits in the stash, so the
    // erase runs in the entity's order and nothing reads or writes half-erased state.
    private bool _erasing;

    // Snapshots being saved: an erase waits for them, so none can be stored after the erase deleted the others.
    private int _snapshotsSaving;

    // When each event waiting for the entity reached it (a Stopwatch timestamp), for the entity
    // write stage: a stashed event passes through AroundReceive again when it is unstashed.
    private readonly Dictionary<SubmitEvent, long> _arrivals = new(ReferenceEqualityComparer.Instance);

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
        Recover<EventApplied>(evt =>
        {
            _metrics.EventReplayed();
            _state = _state.Apply(evt, LastSequenceNr, _positions.Take(PersistenceId, LastSequenceNr));
        });
        Recover<RecoveryCompleted>(_ => _heldBack = null);

        Command<SubmitEvent>(command =>
        {
            Handle(command);
            KeepMemoryBounded();
        });
        Command<SubmitEntityEvents>(command =>
        {
            HandleMany(command);
            KeepMemoryBounded();
        });
        Command<GetEntityState>(_ =>
        {
            Sender.Tell(_state.ToResult(_node));
            KeepMemoryBounded();
        });
        Command<EraseEntity>(HandleErase);
        Command<ErasureDone>(HandleErased);
        Command<ErasureFailed>(failed =>
        {
            _erasing = false;
            _log.Warning(failed.Cause, "Erasing {0} failed; nothing was erased", PersistenceId);
            failed.ReplyTo.Tell(new EraseResult(failed.Request.RequestId, _state.EntityId, 503,
                $"the journal could not erase the entity (nothing was erased; run the erase again): {failed.Cause.GetBaseException().Message}"));
            Stash.UnstashAll();
        });
        Command<StopEntity>(_ => Context.Stop(Self));
        Command<ReceiveTimeout>(_ =>
        {
            // The node may have dropped back under its limit since this entity was last used.
            KeepMemoryBounded();
            if (_idleTimeout is null)
                return;
            _metrics.EntityPassivated();
            Context.Parent.Tell(new Passivate(StopEntity.Instance));
        });
        Command<SaveSnapshotSuccess>(success =>
        {
            SnapshotSaved();
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failure =>
        {
            SnapshotSaved();
            _log.Warning(failure.Cause, "Snapshot of {0} at version {1} failed; recovery replays more events",
                PersistenceId, failure.Metadata.SequenceNr);
        });
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
        if (_group is { } group)
        {
            // The entity stops after a failed write: every event of the group not yet answered is not stored.
            _group = null;
            group.Answer(NotStoredReason("the journal could not store the event", cause));
        }
        else if (@event is EventApplied evt)
            Sender.Tell(new EventNotStored(_state.EntityId, evt.EventId, NotStoredReason("the journal could not store the event", cause)));
        EndPersistSpan(cause.GetBaseException().Message);
        TellHeldBack(NotStoredReason("the journal could not store an earlier event of the entity", cause));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>The journal refused the event before writing it (it could not be serialized): its sender is told; the entity goes on.</summary>
    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        if (_group is { } group)
        {
            // The rest of the group goes on: only this event is refused.
            group.Refused($"the journal refused the event: {cause.GetBaseException().Message}");
            if (!group.Done)
            {
                base.OnPersistRejected(cause, @event, sequenceNr);
                return;
            }

            _group = null;
            group.Answer();
        }
        else if (@event is EventApplied evt)
            Sender.Tell(new EventNotStored(_state.EntityId, evt.EventId, $"the journal refused the event: {cause.GetBaseException().Message}"));
        _persisting = false;
        _heldBack = null;
        EndPersistSpan(cause.GetBaseException().Message);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <inheritdoc />
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (_erasing && message is not (ErasureDone or ErasureFailed))
        {
            Stash.Stash();
            return true;
        }

        if (message is SubmitEvent submit && _arrivals.TryAdd(submit, System.Diagnostics.Stopwatch.GetTimestamp()))
            _metrics.StageSinceWallClock(WriteStage.ShardRegion, submit.SentAt);

        if ((IsRecovering || _persisting) && message is SubmitEvent or SubmitEntityEvents && (_heldBack ??= []).Count < MaxHeldBack)
            _heldBack.Add((Sender, message));
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
        foreach (var (sender, command) in _heldBack ?? [])
        {
            if (command is SubmitEvent submit)
                sender.Tell(new EventNotStored(_state.EntityId, submit.EventId, reason));
            else if (command is SubmitEntityEvents many)
                sender.Tell(new EntityEventsResult(_state.EntityId,
                    many.Events.Select(e => new EventOutcome(_state.EntityId, e.EventId, EventOutcome.NotStored, Reason: reason)).ToList()));
        }

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

    /// <summary>Why an erased entity refuses an event: it is closed for good, old event ids included.</summary>
    private string ErasedReason => $"entity {_state.EntityId} was erased; it takes no more events";

    /// <summary>
    /// Erases the entity in its own order: the journal turns its events into tombstones, deletes its
    /// snapshots and appends the erase notice in one transaction, then the entity drops its state and
    /// event ids and stays closed. An entity already erased has the journal finish what an earlier run
    /// may have left (nothing, once the transaction committed) and answers again.
    /// </summary>
    private void SaveSnapshotOfState()
    {
        _snapshotsSaving++;
        SaveSnapshot(_state.ToSnapshot());
    }

    private void SnapshotSaved()
    {
        if (--_snapshotsSaving == 0)
            Stash.UnstashAll();
    }

    private void HandleErase(EraseEntity erase)
    {
        if (_snapshotsSaving > 0)
        {
            // A snapshot still being written would outlive the erase: the erase waits for it.
            Stash.Stash();
            return;
        }

        if (LastSequenceNr == 0 && !_state.Erased)
        {
            Sender.Tell(new EraseResult(erase.RequestId, _state.EntityId, 404, $"entity {_state.EntityId} has applied no events"));
            return;
        }

        var system = Context.System;
        var now = DateTimeOffset.UtcNow;
        var tombstone = EntityErasure.Tombstone(system, now);
        var notice = _state.Erased ? null : EntityErasure.Notice(system, now, Guid.NewGuid().ToString());
        var database = JournalDatabase.OfJournal(system);
        var (persistenceId, replyTo) = (PersistenceId, Sender);
        _erasing = true;
        database.Workers.RunAsync(store => store.EraseEntity(persistenceId, tombstone, notice))
            .PipeTo(Self, success: erasure =>
            {
                if (erasure.NoticePosition > 0)
                    database.Announce(erasure.NoticePosition);
                return new ErasureDone(erase, replyTo, erasure);
            }, failure: ex => new ErasureFailed(erase, replyTo, ex));
    }

    private void HandleErased(ErasureDone done)
    {
        _erasing = false;
        var already = _state.Erased;
        if (!already)
            _state = EntityState.ErasedAt(_state.EntityId, done.Erasure.NoticeVersion, done.Erasure.NoticePosition);
        _log.Info("Erased {0}: {1} events now tombstones, erase notice at version {2}, position {3}{4}", PersistenceId, done.Erasure.ErasedEvents,
            _state.Version, _state.ErasePosition, already ? " (erased before)" : "");
        done.ReplyTo.Tell(new EraseResult(done.Request.RequestId, _state.EntityId, 200, null, done.Erasure.ErasedEvents, _state.Version,
            _state.ErasePosition, already));
        Stash.UnstashAll();
    }

    private void Handle(SubmitEvent command)
    {
        _arrivals.Remove(command, out var arrived);
        if (_state.Erased)
        {
            Sender.Tell(new EventRejected(_state.EntityId, command.EventId, ErasedReason));
            _metrics.EventRejected();
            return;
        }

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

        if (arrived != 0)
            _metrics.StageSince(WriteStage.Entity, arrived);
        _metrics.PersistCalled(PersistenceId);
        _persisting = true;
        Persist(evt, persisted =>
        {
            _persisting = false;
            _heldBack = null;
            EndPersistSpan(null);
            var position = _positions.Take(PersistenceId, LastSequenceNr, out var committedAt);
            if (committedAt != 0)
                _metrics.StageSince(WriteStage.JournalOut, committedAt);
            _state = _state.Apply(persisted, LastSequenceNr, position, mergedData);
            Sender.Tell(new EventAccepted(_state.EntityId, persisted.EventId, _state.Version, _node, Duplicate: false, position));
            _metrics.EventAccepted(System.Diagnostics.Stopwatch.GetElapsedTime(received));
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshotOfState();
        });
    }

    /// <summary>
    /// The events of one entity from a batch: duplicates and refused events are answered as with
    /// single sends, the new ones are persisted together (one journal write, each event its own
    /// row and sequence number) and the whole group is answered once they are stored.
    /// </summary>
    private void HandleMany(SubmitEntityEvents command)
    {
        var outcomes = new EventOutcome?[command.Events.Count];
        var toPersist = new List<EventApplied>();
        var merged = new List<string>();
        var slots = new List<int>();
        // An id repeated within the group: answered as a duplicate of its first occurrence once that is stored.
        var firstInGroup = new Dictionary<string, int>(StringComparer.Ordinal);
        var repeats = new List<(int Slot, int Of)>();
        var data = _state.Data;
        for (var i = 0; i < command.Events.Count; i++)
        {
            var submit = command.Events[i];
            if (_state.Erased)
            {
                outcomes[i] = new EventOutcome(_state.EntityId, submit.EventId, EventOutcome.Rejected, Reason: ErasedReason);
                _metrics.EventRejected();
                continue;
            }

            if (_state.HasApplied(submit.EventId))
            {
                outcomes[i] = new EventOutcome(_state.EntityId, submit.EventId, EventOutcome.Duplicate, _state.Version,
                    _state.PositionOf(submit.EventId), _node);
                _metrics.EventDuplicate();
                continue;
            }

            if (firstInGroup.TryGetValue(submit.EventId, out var first))
            {
                repeats.Add((i, first));
                continue;
            }

            var evt = new EventApplied(submit.EventId, submit.Type, submit.Data, DateTimeOffset.UtcNow);
            if (Check(evt, data, out var next) is { } problem)
            {
                outcomes[i] = new EventOutcome(_state.EntityId, submit.EventId, EventOutcome.Rejected, Reason: problem);
                _metrics.EventRejected();
                continue;
            }

            firstInGroup[submit.EventId] = i;
            data = next;
            toPersist.Add(evt);
            merged.Add(next);
            slots.Add(i);
        }

        var group = new PendingGroup(Sender, command, outcomes, slots, repeats);
        if (toPersist.Count == 0)
        {
            group.Answer();
            return;
        }

        var received = System.Diagnostics.Stopwatch.GetTimestamp();
        _group = group;
        _persisting = true;
        PersistAll(toPersist, persisted =>
        {
            var position = _positions.Take(PersistenceId, LastSequenceNr);
            _state = _state.Apply(persisted, LastSequenceNr, position, merged[group.Next]);
            group.Stored(new EventOutcome(_state.EntityId, persisted.EventId, EventOutcome.Accepted, _state.Version, position, _node));
            _metrics.EventAccepted(System.Diagnostics.Stopwatch.GetElapsedTime(received));
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshotOfState();
            if (!group.Done)
                return;
            _persisting = false;
            _heldBack = null;
            _group = null;
            group.Answer();
        });
    }

    /// <summary>The problem of applying <paramref name="evt"/> on <paramref name="data"/>; null when it may be applied.</summary>
    private string? Check(EventApplied evt, string data, out string mergedData)
    {
        try
        {
            return _state.CheckApplicable(evt, data, out mergedData);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            mergedData = data;
            return $"data is not valid JSON: {ex.Message}";
        }
    }

    /// <summary>The journal erased the entity.</summary>
    private sealed record ErasureDone(EraseEntity Request, IActorRef ReplyTo, ErasedRows Erasure);

    /// <summary>The journal could not erase the entity; its transaction rolled back.</summary>
    private sealed record ErasureFailed(EraseEntity Request, IActorRef ReplyTo, Exception Cause);

    /// <summary>
    /// A group of events being persisted together: the outcomes so far, which slot the next
    /// stored event fills, and the repeats answered from their first occurrence.
    /// </summary>
    private sealed class PendingGroup(IActorRef sender, SubmitEntityEvents command, EventOutcome?[] outcomes, List<int> slots,
        List<(int Slot, int Of)> repeats)
    {
        /// <summary>The index, among the persisted events, of the next one the journal answers.</summary>
        public int Next { get; private set; }

        public bool Done => Next == slots.Count;

        public void Stored(EventOutcome outcome) => outcomes[slots[Next++]] = outcome;

        public void Refused(string reason)
        {
            var slot = slots[Next++];
            outcomes[slot] = new EventOutcome(command.EntityId, command.Events[slot].EventId, EventOutcome.NotStored, Reason: reason);
        }

        /// <summary>Answers the sender; events with no outcome yet (after a failed write) are not stored, for <paramref name="reason"/>.</summary>
        public void Answer(string? reason = null)
        {
            var result = new EventOutcome[outcomes.Length];
            for (var i = 0; i < outcomes.Length; i++)
                result[i] = outcomes[i] ?? new EventOutcome(command.EntityId, command.Events[i].EventId, EventOutcome.NotStored, Reason: reason);
            foreach (var (slot, of) in repeats)
                result[slot] = result[of] is { IsStored: true } original ? original with { Status = EventOutcome.Duplicate } : result[of];
            sender.Tell(new EntityEventsResult(command.EntityId, result));
        }
    }
}
