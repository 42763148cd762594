using Akka.Actor;
using Akka.Configuration;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Cluster;
using EventCluster.Node.Ingress;
using EventCluster.Node.Security;

namespace EventCluster.Tests.Unit;

/// <summary>The node re-checks what clients send: nothing invalid reaches the shard region.</summary>
public sealed class IngressActorSpecs() : Akka.TestKit.Xunit2.TestKit(
    ConfigurationFactory.ParseString("akka.actor.serialize-messages = on").WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding)))
{
    private IActorRef IngressWith(IActorRef region, IActorRef? webhooks = null, string? apiToken = null) =>
        Sys.ActorOf(IngressActor.Props(region, new EntityJournalQuery(Sys), new ClusterStatusReader(Sys, region), CreateTestProbe().Ref,
            webhooks ?? CreateTestProbe().Ref, apiToken is null ? ApiTokens.None : ApiTokens.From(apiToken,
                $$"""[{"name":"reader","scopes":["read","write"],"sha256":"{{ApiTokens.HashHex("reader-token")}}"}]""", "tokens")));

    public static TheoryData<string?> WrongTokens => new() { null, "", "not-the-token", "s3cret-token " };

    [Theory]
    [MemberData(nameof(WrongTokens))]
    public void Should_refuse_every_webhook_operation_without_the_nodes_token(string? presented)
    {
        var webhooks = CreateTestProbe();
        var ingress = IngressWith(CreateTestProbe(), webhooks, "s3cret-token");
        var definition = new WebhookDefinition("audit", "http://127.0.0.1:9/", [], null, null, 10, 4);
        object[] requests =
        [
            new AddWebhook("r1", definition, 0, presented), new GetWebhooks("r2", null, presented),
            new RemoveWebhook("r3", "audit", presented), new ReplayParked("r4", "audit", presented),
        ];

        foreach (var request in requests)
        {
            ingress.Tell(request, TestActor);
            var answer = ExpectMsg<WebhookAnswer>();
            Assert.Equal(401, answer.Status);
            Assert.Contains("admin scope", answer.Reason);
        }

        webhooks.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Should_refuse_webhook_operations_to_a_token_without_the_admin_scope()
    {
        var webhooks = CreateTestProbe();
        var ingress = IngressWith(CreateTestProbe(), webhooks, "s3cret-token");

        ingress.Tell(new GetWebhooks("r1", null, "reader-token"), TestActor);

        var answer = ExpectMsg<WebhookAnswer>();
        Assert.Equal(403, answer.Status);
        Assert.Contains("'reader'", answer.Reason);
        webhooks.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Should_forward_webhook_operations_that_carry_the_nodes_token()
    {
        var webhooks = CreateTestProbe();
        var ingress = IngressWith(CreateTestProbe(), webhooks, "s3cret-token");
        var remove = new RemoveWebhook("r1", "audit", "s3cret-token");

        ingress.Tell(remove, TestActor);

        Assert.Equal(remove, webhooks.ExpectMsg<RemoveWebhook>());
        Assert.Equal(TestActor, webhooks.LastSender);
    }

    [Fact]
    public void Should_forward_a_valid_event_to_the_shard_region_keeping_the_sender()
    {
        var region = CreateTestProbe();
        var ingress = IngressWith(region);
        var command = new SubmitEvent("acct-1", "e1", "deposit", """{"amount":5}""");

        var before = SubmitEvent.WallClockMicros();
        ingress.Tell(command with { SentAt = before - 5_000 }, TestActor);

        // The same event, stamped with the moment the ingress handed it on (the shard-region stage starts there).
        var forwarded = region.ExpectMsg<SubmitEvent>();
        Assert.Equal(command, forwarded with { SentAt = null });
        Assert.InRange(forwarded.SentAt!.Value, before, SubmitEvent.WallClockMicros());
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
