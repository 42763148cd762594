using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using EventCluster.Messages;
using EventCluster.Messages.Cluster;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;

namespace EventCluster.Tests.Unit;

public sealed class SerializerSpecs : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset At = new(2026, 11, 25, 1, 2, 3, TimeSpan.Zero);

    public SerializerSpecs() : base(ConfigurationFactory.ParseString(EventClusterSerializer.Binding))
    {
    }

    private static readonly IEventClusterMessage[] Samples =
    [
        new SubmitEvent("acct-1", "ev-1", "deposit", """{"amount":5,"nested":{"x":[1,2,"é"]}}"""),
        StopEntity.Instance,
        new SubmitEventBatch("b-1", [new SubmitEvent("acct-1", "ev-1", "deposit", """{"amount":5}"""), new SubmitEvent("acct-2", "ev-2", "deposit", "{}")]),
        new SubmitEntityEvents("acct-1", [new SubmitEvent("acct-1", "ev-1", "deposit", """{"amount":5}"""), new SubmitEvent("acct-1", "ev-3", "withdraw", "{}")]),
        new EntityEventsResult("acct-1", [new EventOutcome("acct-1", "ev-1", EventOutcome.Accepted, 1, 41, "akka.tcp://eventcluster@127.0.0.1:4053"),
            new EventOutcome("acct-1", "ev-3", EventOutcome.Rejected, Reason: "too large")]),
        new EventBatchResult("b-1", [new EventOutcome("acct-2", "ev-2", EventOutcome.Duplicate, 4, 40), new EventOutcome("acct-1", "ev-1", EventOutcome.Unanswered, Reason: "no answer")]),
        new NodeLeaving("akka.tcp://eventcluster@127.0.0.1:4055"),
        new EventAccepted("acct-1", "ev-1", 7, "akka.tcp://eventcluster@127.0.0.1:4053", true, 1234),
        new EventRejected("acct-1", "ev-1", "data must be a JSON object"),
        new EventNotStored("acct-1", "ev-1", "the journal could not store the event: connection refused"),
        new QueryRejected("acct-1", "entity id is required"),
        new GetEntityState("acct-1"),
        new EntityStateResult("acct-1", true, 3, 3, new Dictionary<string, long> { ["deposit"] = 2, ["withdraw"] = 1 },
            "ev-3", "withdraw", At, """{"amount":3}""", "akka.tcp://eventcluster@127.0.0.1:4054"),
        new GetEntityJournal("acct-1", 1, 5000),
        new EntityJournalResult("acct-1", [new JournalEntry(1, "ev-1"), new JournalEntry(2, "ev-2")], true),
        GetClusterStatus.Instance,
        new ClusterStatusResult(
            [new MemberInfo("akka.tcp://eventcluster@127.0.0.1:4053", "Up", ["seed"], true)],
            "akka.tcp://eventcluster@127.0.0.1:4053",
            [new NodeShards("akka.tcp://eventcluster@127.0.0.1:4053", 2, 5, ["1", "2"])],
            "akka.tcp://eventcluster@127.0.0.1:4053",
            [new ClusterEventEntry(At, "MemberUp", "member=127.0.0.1:4053")]),
        new EventApplied("ev-1", "deposit", """{"amount":5}""", At),
        new EntitySnapshot(2, 2, new Dictionary<string, long> { ["deposit"] = 2 }, "ev-2", "deposit", At, """{"amount":7}""",
            ["ev-1", "ev-2"], [41, 42]),
        new EchoRequest("acct-1", "req-1"),
        new EchoReply("acct-1", "req-1", "akka.tcp://eventcluster@127.0.0.1:4053"),
        new ReadEventLog("r-1", 41, new EventFilter(["deposit", "withdraw"], null, "acct-"), 1000, 2000),
        new EventLogPage("r-1", [new EventRecord("acct-1", 3, 42, "ev-3", "deposit", """{"amount":5}""", At)], 50, 60),
        new GetEntityHistory("r-2", "acct-1", 1, 100),
        new EntityHistoryResult("r-2", "acct-1", true, [new EventRecord("acct-1", 1, 7, "ev-1", "deposit", "{}", At)], 3),
        new EventLogRequestRefused("r-3", "the journal could not be read: connection refused", true),
        new EventsCommitted(1234),
        new JoinGroup("r-4", "billing", "member-1", ReadEventLog.FromEnd),
        new GroupJoined("r-4", "billing", 99, false, true),
        new ConfirmGroup("r-5", "billing", "member-1", 120, true),
        new GroupConfirmed("r-5", true),
        new GetGroups("r-6"),
        new GroupList("r-6", 500, [new GroupInfo("billing", 120, 380, true, At)]),
        new AddWebhook("r-7", new WebhookDefinition("orders", "https://example.test/hook", ["deposit"], "acct-", "s3cret", 10, 16), 0, "token"),
        new GetWebhooks("r-8", "orders", null),
        new RemoveWebhook("r-9", "orders", "token"),
        new ReplayParked("r-10", "orders", null),
        new WebhookAnswer("r-8", 200, null,
            [new WebhookInfo("orders", "https://example.test/hook", ["deposit"], "acct-", true, 10, 16, 40, 2, 38, 3, 1, "HTTP 400", "akka.tcp://eventcluster@127.0.0.1:4053")],
            [new ParkedEvent(12, "acct-1", 3, "ev-3", 1, "HTTP 400 Bad Request", At)]),
        new WebhooksChanged("orders"),
        new EraseEntity("r-11", "acct-1", "token"),
        new EraseResult("r-11", "acct-1", 200, null, 12, 13, 40107, false),
        new AwaitLogPosition("r-11", 40107),
        new LogPositionReached("r-11", 40110),
        new EventsErased([40002, 40005]),
        new EntityHistoryResult("r-12", "acct-1", true,
            [new EventRecord("acct-1", 1, 7, "", EventRecord.ErasedType, "{}", At, Erased: true)], 2),
    ];

    public static TheoryData<IEventClusterMessage> Contracts() => new(Samples);

    [Theory]
    [MemberData(nameof(Contracts))]
    public void Should_round_trip_every_contract_through_the_eventcluster_serializer(IEventClusterMessage message)
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<EventClusterSerializer>(serializer);

        var manifest = Serialization.ManifestFor(serializer, message);
        var copy = Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);

        Assert.Equal(message.GetType(), copy.GetType());
        Assert.Equivalent(message, copy, strict: true);
    }

    [Fact]
    public void Should_cover_every_contract_type_it_knows()
    {
        var tested = Samples.Select(sample => sample.GetType()).ToHashSet();
        var contracts = typeof(IEventClusterMessage).Assembly.GetTypes()
            .Where(t => typeof(IEventClusterMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
            .ToHashSet();

        Assert.Equal(contracts, EventClusterSerializer.KnownTypes.ToHashSet());
        Assert.Equal(contracts, tested);
    }

    [Fact]
    public void Should_write_payloads_as_json_not_as_escaped_strings()
    {
        var serializer = (EventClusterSerializer)Sys.Serialization.FindSerializerFor(new SubmitEvent("a", "b", "c", "{}"));
        var bytes = serializer.ToBinary(new SubmitEvent("a", "b", "c", """{"k":"v"}"""));

        Assert.Contains("\"data\":{\"k\":\"v\"}", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Should_carry_the_trace_parent_of_a_submit_only_when_there_is_one_and_read_payloads_without_it()
    {
        var serializer = (EventClusterSerializer)Sys.Serialization.FindSerializerFor(new SubmitEvent("a", "b", "c", "{}"));
        const string traceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var traced = serializer.ToBinary(new SubmitEvent("a", "b", "c", "{}", traceParent));
        var untraced = serializer.ToBinary(new SubmitEvent("a", "b", "c", "{}"));
        var older = (SubmitEvent)serializer.FromBinary("""{"entityId":"a","eventId":"b","type":"c","data":{}}"""u8.ToArray(), "SE");

        Assert.Equal(traceParent, ((SubmitEvent)serializer.FromBinary(traced, "SE")).TraceParent);
        Assert.DoesNotContain("traceParent", System.Text.Encoding.UTF8.GetString(untraced));
        Assert.Equal(new SubmitEvent("a", "b", "c", "{}"), older);
    }

    [Fact]
    public void Should_read_an_event_log_refusal_under_the_manifest_older_nodes_write()
    {
        var serializer = (EventClusterSerializer)Sys.Serialization.FindSerializerFor(new GetEntityState("a"));
        var refusal = new EventLogRequestRefused("r-1", "the journal could not be read", true);

        var older = serializer.FromBinary("""{"requestId":"r-1","reason":"the journal could not be read","retryable":true}"""u8.ToArray(), "LX");

        Assert.Equal("LX", serializer.Manifest(refusal));
        Assert.Equal(refusal, older);
    }

    [Fact]
    public void Should_refuse_unknown_manifests()
    {
        var serializer = (EventClusterSerializer)Sys.Serialization.FindSerializerFor(new GetEntityState("a"));

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "System.Diagnostics.Process"));
        Assert.Contains("unknown manifest", error.Message);
    }

    [Fact]
    public void Should_refuse_types_that_are_not_contracts()
    {
        var serializer = (EventClusterSerializer)Sys.Serialization.FindSerializerFor(new GetEntityState("a"));

        Assert.Throws<ArgumentException>(() => serializer.ToBinary(new object()));
    }

    [Fact]
    public void Should_refuse_payloads_that_name_dotnet_types_and_unbound_types_at_the_sender()
    {
        using var system = ActorSystem.Create("hardened", ConfigurationFactory.ParseString(TypeNameRefusal.Hocon)
            .WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding)));
        var serialization = system.Serialization;

        // Identifier 1 is what a peer using Akka's JSON serializer puts on the wire.
        var typeNamePayload = """{"$type":"System.Diagnostics.Process, System.Diagnostics.Process"}"""u8.ToArray();
        var refused = Assert.Throws<SerializationException>(() => serialization.Deserialize(typeNamePayload, 1, (Type?)null));
        Assert.Contains("never accepts", refused.Message);

        // A type without a binding is not silently written with type names either.
        Assert.ThrowsAny<Exception>(() => serialization.FindSerializerFor(new Uri("http://unbound.example")).ToBinary(new Uri("http://unbound.example")));
        // The contracts still go through the EventCluster serializer.
        Assert.IsType<EventClusterSerializer>(serialization.FindSerializerFor(new GetEntityState("acct-1")));
    }
}
