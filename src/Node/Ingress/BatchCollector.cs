using Akka.Actor;
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

    /// <summary>Made by <see cref="Start"/>, which hands it the checked outcomes and each entity's slots.</summary>
    public BatchCollector(IActorRef replyTo, SubmitEventBatch batch, EventOutcome?[] outcomes, Dictionary<string, List<int>> slotsByEntity)
    {
        _replyTo = replyTo;
        _batch = batch;
        _outcomes = outcomes;
        _slotsByEntity = slotsByEntity;
        Receive<EntityEventsResult>(Collect);
        Receive<AnswerDue>(_ => AnswerAndStop());
        if (_slotsByEntity.Count == 0)
            AnswerAndStop();
        else
            Timers.StartSingleTimer(AnswerDue.Instance, AnswerDue.Instance, AnswerTimeout);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Checks each event of <paramref name="batch"/>, starts a collector under
    /// <paramref name="context"/> and hands each entity its events with the collector as the
    /// sender. The hand-off happens here, in the caller's turn, so batches that one ingress
    /// receives in order reach their entities in that order.
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

        var groups = slotsByEntity.Select(pair => new SubmitEntityEvents(pair.Key, pair.Value.Select(slot => batch.Events[slot]).ToList())).ToList();
        var collector = context.ActorOf(Akka.Actor.Props.Create(() => new BatchCollector(replyTo, batch, outcomes, slotsByEntity)));
        foreach (var group in groups)
            region.Tell(group, collector);
    }

    private void Collect(EntityEventsResult result)
    {
        if (!_slotsByEntity.Remove(result.EntityId, out var slots))
            return;
        for (var i = 0; i < slots.Count && i < result.Outcomes.Count; i++)
            _outcomes[slots[i]] = result.Outcomes[i];
        if (_slotsByEntity.Count == 0)
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
