using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace EventCluster.Node.Cluster;

/// <summary>
/// Polls the shard placement of the whole cluster and logs, at Information, a
/// <c>ShardDistribution</c> line whenever it changes, and a <c>ShardsMoved</c> line per
/// source and destination naming the shards that moved and why (rebalance, hand-off or
/// failover). Akka.NET itself reports rebalances only at Debug.
/// </summary>
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
    private string? _lastDistribution;
    private bool _queryInFlight;
    private int _incompleteRounds;

    /// <summary>Creates the reporter for the entity shard region.</summary>
    public ShardDistributionReporter(IActorRef region)
    {
        _region = region;
        Receive<Poll>(_ => StartQuery());
        Receive<ShardPlacement>(placement =>
        {
            _queryInFlight = false;
            Report(placement);
        });
        Receive<Status.Failure>(_ => _queryInFlight = false);
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the reporter.</summary>
    public static Props Props(IActorRef region) => Akka.Actor.Props.Create(() => new ShardDistributionReporter(region));

    /// <inheritdoc />
    protected override void PreStart() => Timers.StartPeriodicTimer(nameof(Poll), Poll.Instance, PollInterval);

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

        var moves = new SortedDictionary<(string From, string To), List<string>>();
        foreach (var (shard, owner) in placement.OwnerByShard())
        {
            if (_lastOwner.TryGetValue(shard, out var previous) && previous != owner)
            {
                var key = (previous.ToString(), owner.ToString());
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

        foreach (var ((from, to), shards) in moves)
        {
            var fromAddress = Address.Parse(from);
            shards.Sort(StringComparer.Ordinal);
            _log.Info("ShardsMoved reason={0} from={1} to={2} count={3} shards=[{4}]", MoveReason(fromAddress, state),
                AddressFormat.Short(fromAddress), AddressFormat.Short(Address.Parse(to)), shards.Count,
                string.Join(",", shards));
        }
    }

    private static string MoveReason(Address from, ClusterEvent.CurrentClusterState state)
    {
        var member = state.Members.FirstOrDefault(m => m.Address == from);
        return member switch
        {
            null => "failover",
            { Status: MemberStatus.Down } => "failover",
            _ when state.Unreachable.Contains(member) => "failover",
            { Status: MemberStatus.Leaving or MemberStatus.Exiting } => "handoff",
            _ => "rebalance",
        };
    }

    private sealed class Poll
    {
        public static readonly Poll Instance = new();
    }
}
