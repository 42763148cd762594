using Akka.Actor;
using Akka.Event;
using EventCluster.Messages;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;
using EventCluster.Messages.Validation;
using EventCluster.Node.Cluster;
using EventCluster.Node.Security;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Ingress;

/// <summary>
/// The node's front door, registered with the cluster-client receptionist: validates what
/// clients send, routes events and state queries through the shard region, and answers
/// journal and cluster-status queries itself, and hands listeners' requests to the event-log reader. Nothing invalid reaches an entity.
/// </summary>
public sealed class IngressActor : ReceiveActor
{
    /// <summary>The name, and so the path clients address (<see cref="ClusterNames.IngressPath"/>).</summary>
    public const string Name = ClusterNames.IngressName;

    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <summary>Creates the ingress in front of the entity shard region.</summary>
    public IngressActor(IActorRef region, EntityJournalQuery journal, ClusterStatusReader status, IActorRef eventLog, IActorRef webhooks,
        ApiTokens tokens)
    {
        var tracing = NodeTracing.Of(Context.System);
        // Webhook management needs a token with the admin scope when the node has tokens, as over
        // HTTP; the node's manager checks the definition.
        Receive<AddWebhook>(add => ForwardWithToken(webhooks, add, add.RequestId, add.Token, tokens));
        Receive<GetWebhooks>(get => ForwardWithToken(webhooks, get, get.RequestId, get.Token, tokens));
        Receive<RemoveWebhook>(remove => ForwardWithToken(webhooks, remove, remove.RequestId, remove.Token, tokens));
        Receive<ReplayParked>(replay => ForwardWithToken(webhooks, replay, replay.RequestId, replay.Token, tokens));
        // Listeners' requests: the node's event-log reader checks and answers them.
        Receive<ReadEventLog>(eventLog.Forward);
        Receive<GetEntityHistory>(eventLog.Forward);
        Receive<JoinGroup>(eventLog.Forward);
        Receive<ConfirmGroup>(eventLog.Forward);
        Receive<GetGroups>(eventLog.Forward);
        var metrics = NodeMetrics.Of(Context.System);
        Receive<SubmitEvent>(command =>
        {
            var received = System.Diagnostics.Stopwatch.GetTimestamp();
            metrics.StageSinceWallClock(WriteStage.ClientToIngress, command.SentAt);
            var span = tracing.Start(NodeTracing.IngressSpan, command.TraceParent);
            var problem = EventValidation.Check(command);
            if (problem is null)
            {
                region.Forward(command with { TraceParent = span?.Id ?? command.TraceParent, SentAt = SubmitEvent.WallClockMicros() });
                metrics.StageSince(WriteStage.Ingress, received);
            }
            else
            {
                Sender.Tell(new EventRejected(command.EntityId ?? "", command.EventId ?? "", problem));
                metrics.EventRejected();
            }

            NodeTracing.Stop(span, problem);
        });
        Receive<SubmitEventBatch>(batch =>
        {
            var events = batch.Events ?? [];
            if (SubmitEventBatch.CheckSize(events.Count, events.Sum(SubmitEventBatch.SizeOf)) is { } tooLarge)
            {
                // The batch as a whole is refused, each event with the reason; a client that checks the size never gets here.
                Sender.Tell(new EventBatchResult(batch.BatchId ?? "",
                    events.Select(e => new EventOutcome(e?.EntityId ?? "", e?.EventId ?? "", EventOutcome.Rejected, Reason: tooLarge)).ToList()));
                return;
            }

            BatchCollector.Start(Context, region, Sender, batch);
        });
        Receive<EchoRequest>(request =>
        {
            var problem = EventValidation.CheckEntityId(request.Key) ?? EventValidation.CheckEventId(request.RequestId);
            if (problem is null)
                region.Forward(request);
            else
                Sender.Tell(new QueryRejected(request.Key ?? "", problem));
        });
        Receive<GetEntityState>(query =>
        {
            var problem = EventValidation.CheckEntityId(query.EntityId);
            if (problem is null)
                region.Forward(query);
            else
                Sender.Tell(new QueryRejected(query.EntityId ?? "", problem));
        });
        Receive<EraseEntity>(erase =>
        {
            var problem = erase.RequestId is null ? "a request id is required" : EventValidation.CheckEntityId(erase.EntityId);
            if (problem is not null)
                Sender.Tell(new EraseResult(erase.RequestId ?? "", erase.EntityId ?? "", 400, problem));
            else if (Refusal(tokens, erase.Token, "erase an entity") is { } refusal)
                Sender.Tell(new EraseResult(erase.RequestId!, erase.EntityId, refusal.Status, refusal.Reason));
            else
                EraseCoordinator.Start(Context, region, Sender, erase);
        });
        Receive<GetEntityJournal>(query =>
        {
            var problem = EventValidation.CheckEntityId(query.EntityId);
            if (problem is null)
                journal.ReadAsync(query).PipeTo(Sender, failure: ex => Fail(query.EntityId, "reading the journal", ex));
            else
                Sender.Tell(new QueryRejected(query.EntityId ?? "", problem));
        });
        Receive<GetClusterStatus>(_ =>
            status.ReadAsync().PipeTo(Sender, failure: ex => Fail("", "reading the cluster status", ex)));
    }

    public static Props Props(IActorRef region, EntityJournalQuery journal, ClusterStatusReader status, IActorRef eventLog, IActorRef webhooks,
        ApiTokens tokens) =>
        Akka.Actor.Props.Create(() => new IngressActor(region, journal, status, eventLog, webhooks, tokens));

    private void ForwardWithToken(IActorRef webhooks, object request, string? requestId, string? presented, ApiTokens tokens)
    {
        var what = request is GetWebhooks ? "read" : "manage";
        if (Refusal(tokens, presented, $"{what} webhook subscriptions") is { } refusal)
            Sender.Tell(new WebhookAnswer(requestId ?? "", refusal.Status, refusal.Reason, [], []));
        else
            webhooks.Forward(request);
    }

    /// <summary>Why a caller presenting <paramref name="presented"/> may not <paramref name="what"/> (401 or 403), or null when it may: admin's work.</summary>
    private static (int Status, string Reason)? Refusal(ApiTokens tokens, string? presented, string what)
    {
        if (!tokens.Required)
            return null;
        if (tokens.Find(presented) is not { } entry)
            return (401, $"this node requires a token with the admin scope to {what} (--api-token, EVENTCLUSTER_API_TOKEN)");
        return entry.Scopes.HasFlag(ApiScope.Admin)
            ? null
            : (403, $"the token '{entry.Name}' has the scopes [{ApiTokens.Describe(entry.Scopes)}]; to {what} it needs admin");
    }

    private QueryRejected Fail(string entityId, string what, Exception ex)
    {
        _log.Warning(ex, "Failed {0} for entity {1}", what, entityId);
        return new QueryRejected(entityId, $"{what} failed: {ex.GetBaseException().Message}");
    }
}
