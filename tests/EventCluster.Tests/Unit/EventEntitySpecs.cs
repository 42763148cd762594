using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Validation;
using EventCluster.Node.Entities;
using EventCluster.Node.Telemetry;

namespace EventCluster.Tests.Unit;

public sealed class EventEntitySpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string Node = "akka.tcp://eventcluster@127.0.0.1:4053";

    private static readonly EntityPassivation Passivation = new(long.MaxValue, TimeSpan.FromSeconds(5));

    private static readonly string SnapshotDirectory =
        Path.Combine(Path.GetTempPath(), "eventcluster-specs-" + Guid.NewGuid().ToString("N"));

    private static Config TestConfig => ConfigurationFactory.ParseString($$"""
        akka.actor.serialize-messages = on
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.local"
        akka.persistence.snapshot-store.local.dir = "{{SnapshotDirectory.Replace("\\", "/")}}"
        """).WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding));

    public EventEntitySpecs() : base(TestConfig)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(SnapshotDirectory))
            Directory.Delete(SnapshotDirectory, recursive: true);
    }

    [Fact]
    public void Should_acknowledge_an_event_with_the_new_version_and_the_hosting_node()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-1", Node, Passivation));

        entity.Tell(new SubmitEvent("acct-1", "e1", "deposit", """{"amount":5}"""));

        var accepted = ExpectMsg<EventAccepted>();
        Assert.Equal(new EventAccepted("acct-1", "e1", 1, Node, false), accepted);
    }

    [Fact]
    public void Should_persist_a_group_of_events_in_order_and_answer_each_with_its_own_outcome()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-g", Node, Passivation));
        entity.Tell(new SubmitEvent("acct-g", "e0", "opened", "{}"));
        ExpectMsg<EventAccepted>();
        // Sixteen fields of almost 64 KiB fit the entity's 1 MiB of data; the seventeenth does not.
        var big = new string('x', EventValidation.MaxDataBytes - 100);
        var events = new List<SubmitEvent>
        {
            new("acct-g", "e0", "opened", "{}"),               // stored before
            new("acct-g", "e1", "deposit", """{"a":1}"""),
            new("acct-g", "e1", "deposit", """{"a":1}"""),     // repeated in the group
        };
        events.AddRange(Enumerable.Range(1, 17).Select(i => new SubmitEvent("acct-g", $"f{i}", "grow", $$"""{"f{{i}}":"{{big}}"}""")));
        events.Add(new SubmitEvent("acct-g", "e2", "deposit", """{"a":null,"c":3}"""));

        entity.Tell(new SubmitEntityEvents("acct-g", events));

        var result = ExpectMsg<EntityEventsResult>(TimeSpan.FromSeconds(10));
        Assert.Equal(events.Select(e => e.EventId), result.Outcomes.Select(o => o.EventId));
        Assert.Equal(EventOutcome.Duplicate, result.Outcomes[0].Status);
        Assert.Equal(EventOutcome.Accepted, result.Outcomes[1].Status);
        Assert.Equal(EventOutcome.Duplicate, result.Outcomes[2].Status);
        Assert.Equal(result.Outcomes[1].Version, result.Outcomes[2].Version);
        Assert.All(result.Outcomes.Skip(3).Take(16), o => Assert.Equal(EventOutcome.Accepted, o.Status));
        Assert.Equal(EventOutcome.Rejected, result.Outcomes[19].Status);
        Assert.Contains("grow the entity's data", result.Outcomes[19].Reason);
        Assert.Equal(EventOutcome.Accepted, result.Outcomes[20].Status);
        // Versions follow the order given, the rejected event taking none.
        Assert.Equal(Enumerable.Range(2, 18).Select(v => (long)v),
            result.Outcomes.Where(o => o.Status == EventOutcome.Accepted).Select(o => o.Version!.Value));
        entity.Tell(new GetEntityState("acct-g"));
        var state = ExpectMsg<EntityStateResult>();
        Assert.Equal(19, state.Version);
        Assert.Equal("e2", state.LastEventId);
        Assert.Contains("\"c\":3", state.Data);
        Assert.DoesNotContain("\"a\"", state.Data);
        Assert.DoesNotContain("f17", state.Data);
    }

    [Fact]
    public void Should_recover_acknowledged_events_from_the_journal_after_a_restart()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-2", Node, Passivation));
        entity.Tell(new SubmitEvent("acct-2", "e1", "deposit", """{"amount":5}"""));
        entity.Tell(new SubmitEvent("acct-2", "e2", "withdraw", """{"amount":2}"""));
        ExpectMsg<EventAccepted>();
        ExpectMsg<EventAccepted>();
        StopAndWait(entity);

        var revived = Sys.ActorOf(EventEntity.Props("acct-2", Node, Passivation));
        revived.Tell(new GetEntityState("acct-2"));

        var state = ExpectMsg<EntityStateResult>();
        Assert.True(state.Exists);
        Assert.Equal(2, state.Version);
        Assert.Equal("e2", state.LastEventId);
        Assert.Equal("""{"amount":2}""", state.Data);
        Assert.Equal(1, state.CountsByType["deposit"]);
        // Two starts, the second replaying both events: what a node's metrics show of recoveries.
        var metrics = NodeMetrics.Of(Sys);
        Assert.Equal(2, metrics.EntityStarts);
        Assert.Equal(2, metrics.ReplayedEvents);
        Assert.Equal(0, metrics.Passivations);
    }

    [Fact]
    public void Should_ask_to_be_stopped_after_a_short_idle_time_and_count_it_while_the_node_is_over_its_entity_limit()
    {
        var crowded = new EntityPassivation(ActiveEntityLimit: 0, CrowdedIdleTimeout: TimeSpan.FromMilliseconds(100));
        var entity = Sys.ActorOf(EventEntity.Props("acct-idle", Node, crowded));
        entity.Tell(new SubmitEvent("acct-idle", "e1", "deposit", """{"amount":5}"""));
        ExpectMsg<EventAccepted>();

        AwaitCondition(() => NodeMetrics.Of(Sys).Passivations >= 1, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Should_answer_a_repeated_event_id_as_duplicate_and_change_nothing()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-3", Node, Passivation));
        entity.Tell(new SubmitEvent("acct-3", "e1", "deposit", """{"amount":5}"""));
        ExpectMsg<EventAccepted>();

        entity.Tell(new SubmitEvent("acct-3", "e1", "deposit", """{"amount":999}"""));
        var duplicate = ExpectMsg<EventAccepted>();
        entity.Tell(new GetEntityState("acct-3"));
        var state = ExpectMsg<EntityStateResult>();

        Assert.True(duplicate.Duplicate);
        Assert.Equal(1, duplicate.Version);
        Assert.Equal(1, state.EventCount);
        Assert.Equal("""{"amount":5}""", state.Data);
    }

    [Fact]
    public void Should_keep_deduplicating_after_recovering_from_a_snapshot()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-4", Node, Passivation));
        for (var i = 1; i <= EventEntity.SnapshotEvery + 2; i++)
            entity.Tell(new SubmitEvent("acct-4", $"e{i}", "tick", "{}"));
        ReceiveN(EventEntity.SnapshotEvery + 2, TimeSpan.FromSeconds(30));
        var snapshots = Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        AwaitAssert(() =>
        {
            snapshots.Tell(new LoadSnapshot(EventEntity.PersistenceIdOf("acct-4"), SnapshotSelectionCriteria.Latest, long.MaxValue));
            Assert.Equal(EventEntity.SnapshotEvery, ExpectMsg<LoadSnapshotResult>().Snapshot?.Metadata.SequenceNr);
        }, TimeSpan.FromSeconds(10));
        StopAndWait(entity);
        // Without the events the snapshot covers, only the snapshot can still know "e7".
        var journal = Persistence.Instance.Apply(Sys).JournalFor(null);
        journal.Tell(new DeleteMessagesTo(EventEntity.PersistenceIdOf("acct-4"), EventEntity.SnapshotEvery, TestActor));
        ExpectMsg<DeleteMessagesSuccess>();

        var revived = Sys.ActorOf(EventEntity.Props("acct-4", Node, Passivation));
        revived.Tell(new SubmitEvent("acct-4", "e7", "tick", "{}"));
        revived.Tell(new SubmitEvent("acct-4", "new", "tick", "{}"));

        Assert.True(ExpectMsg<EventAccepted>().Duplicate);
        var accepted = ExpectMsg<EventAccepted>();
        Assert.False(accepted.Duplicate);
        Assert.Equal(EventEntity.SnapshotEvery + 3, accepted.Version);
    }

    [Fact]
    public void Should_apply_events_in_the_order_received_with_contiguous_versions()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-5", Node, Passivation));
        for (var i = 1; i <= 50; i++)
            entity.Tell(new SubmitEvent("acct-5", $"e{i}", "set", $$"""{"last":{{i}}}"""));

        var versions = ReceiveN(50).Cast<EventAccepted>().Select(a => a.Version).ToList();
        entity.Tell(new GetEntityState("acct-5"));
        var state = ExpectMsg<EntityStateResult>();

        Assert.Equal(Enumerable.Range(1, 50).Select(v => (long)v), versions);
        Assert.Equal("""{"last":50}""", state.Data);
    }

    [Fact]
    public void Should_reject_an_event_that_would_exceed_the_state_limit_and_keep_its_state()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-6", Node, Passivation));
        var chunk = new string('x', 60_000);
        object reply;
        var i = 0;
        do
        {
            i++;
            entity.Tell(new SubmitEvent("acct-6", $"e{i}", "grow", $$"""{"k{{i}}":"{{chunk}}"}"""));
            reply = ExpectMsg<object>();
        } while (reply is EventAccepted && i < 40);

        var rejected = Assert.IsType<EventRejected>(reply);
        entity.Tell(new GetEntityState("acct-6"));
        var state = ExpectMsg<EntityStateResult>();

        Assert.Contains("limit", rejected.Reason);
        Assert.Equal(i - 1, state.Version);
    }

    [Fact]
    public void Should_process_queued_events_before_stopping_on_the_hand_off_message()
    {
        var entity = Sys.ActorOf(EventEntity.Props("acct-7", Node, Passivation));
        Watch(entity);
        for (var i = 1; i <= 20; i++)
            entity.Tell(new SubmitEvent("acct-7", $"e{i}", "tick", "{}"));
        entity.Tell(StopEntity.Instance);

        Assert.Equal(20, ReceiveN(20).OfType<EventAccepted>().Count());
        ExpectTerminated(entity);
    }

    [Fact]
    public void Should_answer_state_of_an_entity_without_events_as_not_existing()
    {
        var entity = Sys.ActorOf(EventEntity.Props("nobody", Node, Passivation));

        entity.Tell(new GetEntityState("nobody"));

        var state = ExpectMsg<EntityStateResult>();
        Assert.False(state.Exists);
        Assert.Equal(0, state.Version);
    }

    [Fact]
    public void Should_ask_its_shard_to_passivate_it_soon_after_use_while_the_node_is_over_its_entity_limit()
    {
        // Limit 0: this entity alone puts the node over it.
        var crowded = new EntityPassivation(0, TimeSpan.FromMilliseconds(200));
        var shard = CreateTestProbe();
        var parent = Sys.ActorOf(Props.Create(() => new ShardStandIn(EventEntity.Props("busy-node", Node, crowded), shard.Ref)));

        parent.Tell(new SubmitEvent("busy-node", "e1", "t", "{}"));

        ExpectMsg<EventAccepted>();
        var passivate = shard.ExpectMsg<Akka.Cluster.Sharding.Passivate>(TimeSpan.FromSeconds(5));
        Assert.IsType<StopEntity>(passivate.StopMessage);
    }

    [Fact]
    public void Should_stay_alive_after_use_while_the_node_is_under_its_entity_limit()
    {
        var roomy = new EntityPassivation(long.MaxValue, TimeSpan.FromMilliseconds(200));
        var shard = CreateTestProbe();
        var parent = Sys.ActorOf(Props.Create(() => new ShardStandIn(EventEntity.Props("quiet-node", Node, roomy), shard.Ref)));

        parent.Tell(new SubmitEvent("quiet-node", "e1", "t", "{}"));

        ExpectMsg<EventAccepted>();
        // Five times the crowded idle timeout without a request to passivate.
        shard.ExpectNoMsg(TimeSpan.FromSeconds(1));
    }

    private void StopAndWait(IActorRef actor)
    {
        Watch(actor);
        actor.Tell(StopEntity.Instance);
        ExpectTerminated(actor);
    }

    /// <summary>Stands in for the shard: parent of the entity, forwarding what the entity asks of it to a probe.</summary>
    private sealed class ShardStandIn : ReceiveActor
    {
        public ShardStandIn(Props entityProps, IActorRef probe)
        {
            var entity = Context.ActorOf(entityProps, "entity");
            Receive<Akka.Cluster.Sharding.Passivate>(passivate => probe.Tell(passivate));
            ReceiveAny(message => entity.Forward(message));
        }
    }
}
