using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using EventCluster.Messages.Cluster;

namespace EventCluster.Node.Cluster;

/// <summary>
/// Polls the shard placement of the whole cluster and logs, at Information, a
/// <c>ShardDistribution</c> line whenever it changes, and a <c>ShardsMoved</c> line per
/// source and destination naming the shards that moved and why (rebalance, hand-off or
/// failover). Akka.NET itself reports rebalances only at Debug.
/// </summary>
/// <remarks>
/// The reason is fixed when a node departs, not when its shards reappear: a crashed node's
/// shards are re-allocated only when next used, possibly after the node has restarted on the
/// same address, so its membership status at that moment says nothing about why they moved.
/// </remarks>
public sealed class ShardDistributionReporter : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(3);

    // A region that has not registered yet is missing from the placement; give it a few rounds
    // before reporting a distribution that leaves it out.
    private const int MaxIncompleteRounds = 3;

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _region;
    private readonly Dictionary<string, Address> _lastOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _departureReason = new(StringComparer.Ordinal);
    private readonly HashSet<string> _vanished = new(StringComparer.Ordinal);
    private string? _lastDistribution;
    private bool _queryInFlight;
    private int _incompleteRounds;

    public ShardDistributionReporter(IActorRef region)
    {
        _region = region;
        Receive<Poll>(_ => StartQuery());
        Receive<ShardPlacement>(placement =>
        {
            _queryInFlight = false;
            Context.System.EventStream.Publish(placement);
            Context.System.WithExtension<LatestPlacement, LatestPlacementProvider>().Placement = placement;
            Report(placement);
        });
        Receive<Status.Failure>(_ => _queryInFlight = false);
        Receive<ClusterEvent.UnreachableMember>(e => MarkDeparted(e.Member.Address, Failover));
        Receive<ClusterEvent.MemberDowned>(e => MarkDeparted(e.Member.Address, Failover));
        Receive<ClusterEvent.MemberLeft>(e => MarkDeparted(e.Member.Address, Handoff));
        Receive<ClusterEvent.MemberExited>(e => MarkDeparted(e.Member.Address, Handoff));
        Receive<NodeLeaving>(e => MarkDeparted(Address.Parse(e.Address), Handoff));
        Receive<ClusterEvent.ReachableMember>(e => ClearDeparted(e.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.IReachabilityEvent>(_ => { });
    }

    private const string Failover = "failover";
    private const string Handoff = "handoff";
    private const string Rebalance = "rebalance";

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region) => Akka.Actor.Props.Create(() => new ShardDistributionReporter(region));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer(nameof(Poll), Poll.Instance, PollInterval);
    }

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);

    /// <summary>
    /// Tells the reporters of all other members that this node is about to hand its shards off;
    /// run by coordinated shutdown before sharding stops.
    /// </summary>
    public static void AnnounceLeaving(ActorSystem system)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var leaving = new NodeLeaving(cluster.SelfAddress.ToString());
        foreach (var member in cluster.State.Members.Where(m => m.Address != cluster.SelfAddress))
            system.ActorSelection($"{member.Address}/user/{Name}").Tell(leaving);
    }

    /// <summary>The latest placement <paramref name="system"/>'s reporter read (every 2 s), for metrics; null before the first.</summary>
    public static ShardPlacement? LatestOf(ActorSystem system) => system.WithExtension<LatestPlacement, LatestPlacementProvider>().Placement;

    /// <summary>The latest placement of one node, kept with its actor system.</summary>
    private sealed class LatestPlacement : IExtension
    {
        public volatile ShardPlacement? Placement;
    }

    private sealed class LatestPlacementProvider : ExtensionIdProvider<LatestPlacement>
    {
        public override LatestPlacement CreateExtension(ExtendedActorSystem system) => new();
    }

    public const string Name = "shard-distribution-reporter";

    /// <summary>A node that was unreachable is back: its shards stay where they are.</summary>
    private void ClearDeparted(Address address)
    {
        foreach (var (shard, owner) in _lastOwner)
        {
            if (owner == address && _departureReason.GetValueOrDefault(shard) == Failover)
                _departureReason.Remove(shard);
        }
    }

    /// <summary>
    /// Every shard last seen on <paramref name="address"/> will have moved for
    /// <paramref name="reason"/>; a crash wins over a leave that it interrupted.
    /// </summary>
    private void MarkDeparted(Address address, string reason)
    {
        foreach (var (shard, owner) in _lastOwner)
        {
            if (owner != address)
                continue;
            if (reason == Failover || !_departureReason.ContainsKey(shard))
                _departureReason[shard] = reason;
        }
    }

    private void StartQuery()
    {
        if (_queryInFlight || _cluster.SelfMember.Status != MemberStatus.Up)
            return;
        _queryInFlight = true;
        ShardPlacement.QueryAsync(_region, _cluster.SelfAddress, QueryTimeout).PipeTo(Self);
    }

    private void Report(ShardPlacement placement)
    {
        var state = _cluster.State;
        var missing = state.Members
            .Where(m => m.Status == MemberStatus.Up && !state.Unreachable.Contains(m) && !placement.ByNode.ContainsKey(m.Address))
            .ToList();
        if (missing.Count > 0 && ++_incompleteRounds <= MaxIncompleteRounds)
            return;
        _incompleteRounds = 0;

        var distribution = string.Join(" ", placement.ByNode.Select(node =>
            $"{AddressFormat.Short(node.Key)}={node.Value.Count}"));
        var shardSets = string.Join(";", placement.ByNode.Select(node => $"{node.Key}:{string.Join(",", node.Value.Keys)}"));
        if (shardSets == _lastDistribution)
            return;
        _lastDistribution = shardSets;

        var moves = new SortedDictionary<(string Reason, string From, string To), List<string>>();
        var owners = placement.OwnerByShard();
        _vanished.UnionWith(_lastOwner.Keys.Where(shard => !owners.ContainsKey(shard)));
        foreach (var (shard, owner) in owners)
        {
            // A shard that vanished with its crashed node and comes back on the same address (the
            // node restarted there) moved too.
            var cameBack = _vanished.Remove(shard);
            if (_lastOwner.TryGetValue(shard, out var previous) && (previous != owner || (cameBack && _departureReason.ContainsKey(shard))))
            {
                var reason = _departureReason.Remove(shard, out var departure) ? departure : Rebalance;
                var key = (reason, previous.ToString(), owner.ToString());
                if (!moves.TryGetValue(key, out var shards))
                    moves[key] = shards = [];
                shards.Add(shard);
            }

            _lastOwner[shard] = owner;
        }

        var shardCount = placement.ByNode.Values.Sum(shards => shards.Count);
        var entityCount = placement.ByNode.Values.Sum(shards => shards.Values.Sum());
        _log.Info("ShardDistribution {0} | shards={1} entities={2} nodes={3}", distribution, shardCount, entityCount,
            placement.ByNode.Count);
        RecentClusterEvents.Of(Context.System).Add("ShardDistribution", $"{distribution} | shards={shardCount} entities={entityCount}");

        foreach (var ((reason, from, to), shards) in moves)
        {
            shards.Sort(StringComparer.Ordinal);
            var line = $"reason={reason} from={AddressFormat.Short(Address.Parse(from))} to={AddressFormat.Short(Address.Parse(to))} " +
                $"count={shards.Count} shards=[{string.Join(",", shards)}]";
            _log.Info("ShardsMoved {0}", line);
            RecentClusterEvents.Of(Context.System).Add("ShardsMoved", line);
        }
    }

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }
}
