using Akka.Actor;
using Akka.Configuration;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Serialization;
using EventCluster.Node.Cluster;
using EventCluster.Node.Ingress;

namespace EventCluster.Tests.Unit;

/// <summary>The node re-checks what clients send: nothing invalid reaches the shard region.</summary>
public sealed class IngressActorSpecs() : Akka.TestKit.Xunit2.TestKit(
    ConfigurationFactory.ParseString("akka.actor.serialize-messages = on").WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding)))
{
    private IActorRef IngressWith(IActorRef region) =>
        Sys.ActorOf(IngressActor.Props(region, new EntityJournalQuery(Sys), new ClusterStatusReader(Sys, region), CreateTestProbe().Ref, CreateTestProbe().Ref));

    [Fact]
    public void Should_forward_a_valid_event_to_the_shard_region_keeping_the_sender()
    {
        var region = CreateTestProbe();
        var ingress = IngressWith(region);
        var command = new SubmitEvent("acct-1", "e1", "deposit", """{"amount":5}""");

        ingress.Tell(command, TestActor);

        Assert.Equal(command, region.ExpectMsg<SubmitEvent>());
        Assert.Equal(TestActor, region.LastSender);
    }

    [Theory]
    [InlineData("bad id", "e1", "t", "{}", "entity id")]
    [InlineData("acct", "", "t", "{}", "event id is required")]
    [InlineData("acct", "e1", "t", "[1]", "JSON object")]
    [InlineData("acct", "e1", "t", "{\"a\":1,\"a\":2}", "not valid JSON")]
    public void Should_reject_an_invalid_event_without_routing_it(string entityId, string eventId, string type, string data, string reason)
    {
        var region = CreateTestProbe();
        var ingress = IngressWith(region);

        ingress.Tell(new SubmitEvent(entityId, eventId, type, data), TestActor);

        Assert.Contains(reason, ExpectMsg<EventRejected>().Reason);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Should_reject_an_oversized_payload_that_bypassed_the_client()
    {
        var region = CreateTestProbe();
        var ingress = IngressWith(region);
        var data = $$"""{"blob":"{{new string('x', 70_000)}}"}""";

        ingress.Tell(new SubmitEvent("acct", "e1", "t", data), TestActor);

        Assert.Contains("limit is 65536 bytes", ExpectMsg<EventRejected>().Reason);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Should_reject_a_state_query_for_an_invalid_entity_id()
    {
        var region = CreateTestProbe();
        var ingress = IngressWith(region);

        ingress.Tell(new GetEntityState("no/slashes"), TestActor);

        Assert.Contains("contains '/'", ExpectMsg<QueryRejected>().Reason);
        region.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
