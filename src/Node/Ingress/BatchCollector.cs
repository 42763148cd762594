using Akka.Actor;
using EventCluster.Messages.Cluster;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Validation;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Ingress;

/// <summary>
/// One batch on its way through the node: hands the events of each entity to it as one
/// <see cref="SubmitEntityEvents"/>, gathers the entities' answers, and answers the sender with
/// one outcome per event in the order sent. Events no entity answered in time are
/// <see cref="EventOutcome.Unanswered"/>: they may or may not be stored, and resending them with
/// the same ids is safe.
/// </summary>
public sealed class BatchCollector : ReceiveActor, IWithTimers
{
    /// <summary>
    /// How long the entities have to answer: below the clients' wait for a batch (15 s) and the
    /// HTTP endpoint's (<c>ClusterTimeout</c>, 10 s), so they get the answered part.
    /// </summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(9);

    private readonly IActorRef _replyTo;
    private readonly SubmitEventBatch _batch;
    private readonly EventOutcome?[] _outcomes;
    private readonly Dictionary<string, List<int>> _slotsByEntity;

    // Sent one by one: each event's slots, by entity and event id (an id may repeat in a batch).
    private readonly Dictionary<(string EntityId, string EventId), Queue<int>> _slotsByEvent = [];

    /// <summary>
    /// Made by <see cref="Start"/>, which hands it the checked outcomes and each entity's slots;
    /// <paramref name="oneByOne"/> when the events were sent as single events.
    /// </summary>
    public BatchCollector(IActorRef replyTo, SubmitEventBatch batch, EventOutcome?[] outcomes, Dictionary<string, List<int>> slotsByEntity,
        bool oneByOne)
    {
        _replyTo = replyTo;
        _batch = batch;
        _outcomes = outcomes;
        _slotsByEntity = slotsByEntity;
        if (oneByOne)
        {
            foreach (var slot in slotsByEntity.Values.SelectMany(slots => slots))
            {
                var key = (batch.Events[slot].EntityId, batch.Events[slot].EventId);
                if (!_slotsByEvent.TryGetValue(key, out var slots))
                    _slotsByEvent[key] = slots = new Queue<int>();
                slots.Enqueue(slot);
            }

            _slotsByEntity.Clear();
        }

        Receive<EntityEventsResult>(Collect);
        Receive<EventAccepted>(accepted => CollectOne(accepted.EntityId, accepted.EventId, accepted));
        Receive<EventRejected>(rejected => CollectOne(rejected.EntityId, rejected.EventId, rejected));
        Receive<EventNotStored>(notStored => CollectOne(notStored.EntityId, notStored.EventId, notStored));
        Receive<AnswerDue>(_ => AnswerAndStop());
        if (_slotsByEntity.Count == 0 && _slotsByEvent.Count == 0)
            AnswerAndStop();
        else
            Timers.StartSingleTimer(AnswerDue.Instance, AnswerDue.Instance, AnswerTimeout);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Checks each event of <paramref name="batch"/>, starts a collector under
    /// <paramref name="context"/> and hands each entity its events with the collector as the
    /// sender. The hand-off happens here, in the caller's turn, so batches that one ingress
    /// receives in order reach their entities in that order. While a member does not announce
    /// <see cref="WireFeatures.Batches"/> (a release before bulk ingestion, during a rolling
    /// upgrade) the events go one by one, as <see cref="SubmitEvent"/>s that every release reads:
    /// that member could host the entity's shard, now or after a hand-off.
    /// </summary>
    public static void Start(IActorContext context, IActorRef region, IActorRef replyTo, SubmitEventBatch batch)
    {
        var outcomes = new EventOutcome?[batch.Events.Count];
        var slotsByEntity = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var metrics = NodeMetrics.Of(context.System);
        for (var i = 0; i < batch.Events.Count; i++)
        {
            var submit = batch.Events[i];
            var problem = submit is null ? "the event is missing" : EventValidation.Check(submit);
            if (problem is not null)
            {
                outcomes[i] = new EventOutcome(submit?.EntityId ?? "", submit?.EventId ?? "", EventOutcome.Rejected, Reason: problem);
                metrics.EventRejected();
                continue;
            }

            if (!slotsByEntity.TryGetValue(submit!.EntityId, out var slots))
                slotsByEntity[submit.EntityId] = slots = [];
            slots.Add(i);
        }

        var oneByOne = !EveryMemberReadsBatches(context.System);
        var groups = slotsByEntity.Select(pair => new SubmitEntityEvents(pair.Key, pair.Value.Select(slot => batch.Events[slot]).ToList())).ToList();
        var collector = context.ActorOf(Akka.Actor.Props.Create(() => new BatchCollector(replyTo, batch, outcomes, slotsByEntity, oneByOne)));
        foreach (var group in groups)
        {
            if (!oneByOne)
                region.Tell(group, collector);
            else
                foreach (var submit in group.Events)
                    region.Tell(submit, collector);
        }
    }

    /// <summary>
    /// True when every member, whatever its status or reachability, announces that it reads
    /// batches (and in an actor system that is no cluster member, which has no other member).
    /// </summary>
    public static bool EveryMemberReadsBatches(ActorSystem system) =>
        ((ExtendedActorSystem)system).Provider is not Akka.Cluster.ClusterActorRefProvider ||
        Akka.Cluster.Cluster.Get(system).State.Members.All(member => member.HasRole(WireFeatures.Batches));

    private void Collect(EntityEventsResult result)
    {
        if (!_slotsByEntity.Remove(result.EntityId, out var slots))
            return;
        for (var i = 0; i < slots.Count && i < result.Outcomes.Count; i++)
            _outcomes[slots[i]] = result.Outcomes[i];
        if (_slotsByEntity.Count == 0 && _slotsByEvent.Count == 0)
            AnswerAndStop();
    }

    private void CollectOne(string entityId, string eventId, object reply)
    {
        if (!_slotsByEvent.TryGetValue((entityId, eventId), out var slots))
            return;
        _outcomes[slots.Dequeue()] = EventOutcome.OfReply(entityId, eventId, reply, "");
        if (slots.Count == 0)
            _slotsByEvent.Remove((entityId, eventId));
        if (_slotsByEntity.Count == 0 && _slotsByEvent.Count == 0)
            AnswerAndStop();
    }

    private void AnswerAndStop()
    {
        var outcomes = new EventOutcome[_outcomes.Length];
        for (var i = 0; i < outcomes.Length; i++)
            outcomes[i] = _outcomes[i] ?? new EventOutcome(_batch.Events[i].EntityId, _batch.Events[i].EventId, EventOutcome.Unanswered,
                Reason: $"the entity did not answer within {AnswerTimeout.TotalSeconds:0}s; it may have been stored, resending the same event id is safe");
        _replyTo.Tell(new EventBatchResult(_batch.BatchId, outcomes));
        Context.Stop(Self);
    }

    private sealed class AnswerDue
    {
        public static readonly AnswerDue Instance = new();
    }
}
