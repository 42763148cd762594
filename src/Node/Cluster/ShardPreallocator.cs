using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using EventCluster.Messages.Sharding;

namespace EventCluster.Node.Cluster;

/// <summary>
/// Keeps every shard allocated while the cluster is stable. Sharding allocates a shard only when
/// its first message arrives, one coordinator round trip and distributed-data write at a time
/// (about 40 shards a second on a 2-core host): a fresh cluster, or one that has just
/// rebalanced or failed over, would make the first events of many shards wait behind that. On
/// the oldest member (the coordinator's node) only, and only once every member has been Up and
/// reachable for <see cref="StableFor"/>, this starts a placeholder entity in each shard the
/// latest placement lacks. (Waiting for a settled membership matters: shards allocated while
/// only the first node is up would all land there and take minutes of rebalancing to spread.)
/// </summary>
/// <remarks>
/// Placeholder ids start with <see cref="PlaceholderPrefix"/>, a character that a valid entity
/// id can never contain, and their actor stops at once: no journal access, no user-visible entity.
/// </remarks>
public sealed class ShardPreallocator : ReceiveActor
{
    /// <summary>Prefix of placeholder entity ids; '~' is outside the entity-id alphabet.</summary>
    public const string PlaceholderPrefix = "~shard-";

    /// <summary>One placeholder entity id per shard.</summary>
    public static readonly ImmutableSortedDictionary<string, string> PlaceholderByShard = FindPlaceholders();

    /// <summary>How long membership must stay unchanged before shards are allocated ahead of use.</summary>
    public static readonly TimeSpan StableFor = TimeSpan.FromSeconds(10);

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private DateTime _membershipChangedAt = DateTime.UtcNow;

    public ShardPreallocator(IActorRef region)
    {
        Receive<ShardPlacement>(placement =>
        {
            foreach (var shard in MissingShards(placement))
                region.Tell(new ShardRegion.StartEntity(PlaceholderByShard[shard]));
        });
        Receive<ClusterEvent.IMemberEvent>(_ => _membershipChangedAt = DateTime.UtcNow);
        Receive<ClusterEvent.IReachabilityEvent>(_ => _membershipChangedAt = DateTime.UtcNow);
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        // The region acknowledges each start (an internal message type).
        ReceiveAny(_ => { });
    }

    public static Props Props(IActorRef region) => Akka.Actor.Props.Create(() => new ShardPreallocator(region));

    /// <summary>True for the ids of placeholder entities.</summary>
    public static bool IsPlaceholder(string entityId) => entityId.StartsWith(PlaceholderPrefix, StringComparison.Ordinal);

    /// <inheritdoc />
    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(ShardPlacement));
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        _cluster.Unsubscribe(Self);
    }

    private IEnumerable<string> MissingShards(ShardPlacement placement)
    {
        var state = _cluster.State;
        if (DateTime.UtcNow - _membershipChangedAt < StableFor || state.Unreachable.Count > 0 || state.Members.Any(m => m.Status != MemberStatus.Up))
            return [];
        var oldest = state.Members.Aggregate((a, b) => b.IsOlderThan(a) ? b : a);
        if (oldest.Address != _cluster.SelfAddress)
            return [];
        var allocated = placement.OwnerByShard();
        return PlaceholderByShard.Keys.Where(shard => !allocated.ContainsKey(shard)).ToList();
    }

    private static ImmutableSortedDictionary<string, string> FindPlaceholders()
    {
        var extractor = new EntityMessageExtractor();
        var byShard = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        for (var n = 0; byShard.Count < EntityMessageExtractor.ShardCount; n++)
        {
            var id = $"{PlaceholderPrefix}{n}";
            byShard.TryAdd(extractor.ShardId(id, null), id);
        }

        return byShard.ToImmutable();
    }

    /// <summary>The actor behind a placeholder id: it stops as soon as it starts.</summary>
    public sealed class Placeholder : UntypedActor
    {
        public static readonly Props Props = Akka.Actor.Props.Create<Placeholder>();

        /// <inheritdoc />
        protected override void PreStart() => Context.Stop(Self);

        /// <inheritdoc />
        protected override void OnReceive(object message)
        {
        }
    }
}
