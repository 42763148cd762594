using Akka.Actor;
using Akka.Cluster;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Subscriptions;
using EventCluster.Node.Subscriptions;

namespace EventCluster.Node.Ingress;

/// <summary>
/// One erase on its way through the node: hands it to the entity through the shard region (so it
/// runs in the entity's order), then, before answering, waits until the event-log reader of every
/// member has read the erase notice. Each reader replaces what it remembers of the entity with
/// tombstones when it reads the notice, so once the caller hears "erased" no node serves the data.
/// </summary>
public sealed class EraseCoordinator : ReceiveActor, IWithTimers
{
    /// <summary>How long the entity has to answer; below the HTTP endpoint's and the client's waits.</summary>
    public static readonly TimeSpan EntityTimeout = TimeSpan.FromSeconds(8);

    /// <summary>How long the members' readers have to reach the notice before the answer goes out anyway, saying which did not.</summary>
    public static readonly TimeSpan ReadersTimeout = TimeSpan.FromSeconds(5);

    private readonly IActorRef _replyTo;
    private readonly EraseEntity _request;
    private readonly HashSet<Address> _waitingFor = [];
    private EraseResult? _result;

    public EraseCoordinator(IActorRef region, IActorRef replyTo, EraseEntity request)
    {
        _replyTo = replyTo;
        _request = request;
        Receive<EraseResult>(HandleResult);
        Receive<LogPositionReached>(_ =>
        {
            _waitingFor.Remove(Sender.Path.Address.HasGlobalScope ? Sender.Path.Address : Akka.Cluster.Cluster.Get(Context.System).SelfAddress);
            if (_waitingFor.Count == 0)
                AnswerAndStop(_result!);
        });
        Receive<Timeout>(_ => AnswerAndStop(_result is null
            ? new EraseResult(request.RequestId, request.EntityId, 503,
                $"entity {request.EntityId} did not answer the erase within {EntityTimeout.TotalSeconds:0}s; run the erase again (it is safe to repeat)")
            : _result with
            {
                Reason = $"erased; the event-log readers of {string.Join(", ", _waitingFor)} had not read the erase notice within " +
                         $"{ReadersTimeout.TotalSeconds:0}s (they replace the entity's events with tombstones when they do)",
            }));
        region.Tell(request with { Token = null });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Starts a coordinator for <paramref name="request"/> under <paramref name="context"/>.</summary>
    public static void Start(IActorContext context, IActorRef region, IActorRef replyTo, EraseEntity request) =>
        context.ActorOf(Props.Create(() => new EraseCoordinator(region, replyTo, request)));

    /// <inheritdoc />
    protected override void PreStart() => Timers.StartSingleTimer(Timeout.Instance, Timeout.Instance, EntityTimeout);

    private void HandleResult(EraseResult result)
    {
        if (!result.Succeeded || result.Position <= 0)
        {
            AnswerAndStop(result);
            return;
        }

        _result = result;
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        foreach (var member in cluster.State.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving))
        {
            _waitingFor.Add(member.Address);
            Context.ActorSelection(new RootActorPath(member.Address) / "user" / EventLogActor.Name)
                .Tell(new AwaitLogPosition(_request.RequestId, result.Position));
        }

        if (_waitingFor.Count == 0)
            AnswerAndStop(result);
        else
            Timers.StartSingleTimer(Timeout.Instance, Timeout.Instance, ReadersTimeout);
    }

    private void AnswerAndStop(EraseResult result)
    {
        _replyTo.Tell(result with { RequestId = _request.RequestId });
        Context.Stop(Self);
    }

    private sealed class Timeout
    {
        public static readonly Timeout Instance = new();
    }
}
