using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using static Akka.Cluster.ClusterEvent;

namespace EventCluster.Node.Cluster;

/// <summary>
/// Logs every membership, reachability and leadership event at Information, one line each,
/// named as Akka names it, with a summary of the membership after the event. Until this node
/// is Up it also says, every few seconds, that it is still trying to join, and through whom
/// (its seeds, or its discovery).
/// </summary>
public sealed class MembershipListener : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan JoinReminderInterval = TimeSpan.FromSeconds(10);
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _joinThrough;
    private readonly DateTime _startedAt = DateTime.UtcNow;

    // The membership as the events so far describe it. Cluster.State is updated separately and
    // can lag the event being handled, which would make a line contradict itself.
    private readonly SortedDictionary<Address, Member> _members = new(Comparer<Address>.Create((a, b) => string.CompareOrdinal(a.ToString(), b.ToString())));
    private readonly HashSet<Address> _unreachable = [];
    private Address? _leader;

    public MembershipListener(string joinThrough)
    {
        _joinThrough = joinThrough;
        Receive<IMemberEvent>(evt =>
        {
            if (evt is MemberRemoved)
            {
                _members.Remove(evt.Member.Address);
                _unreachable.Remove(evt.Member.Address);
            }
            else
            {
                _members[evt.Member.Address] = evt.Member;
            }

            Report(evt.GetType().Name, evt.Member.Address, evt.Member.Roles);
        });
        Receive<UnreachableMember>(evt =>
        {
            _unreachable.Add(evt.Member.Address);
            Report(nameof(UnreachableMember), evt.Member.Address, evt.Member.Roles);
        });
        Receive<ReachableMember>(evt =>
        {
            _unreachable.Remove(evt.Member.Address);
            Report(nameof(ReachableMember), evt.Member.Address, evt.Member.Roles);
        });
        Receive<LeaderChanged>(evt =>
        {
            _leader = evt.Leader;
            var leader = evt.Leader is null ? "none" : AddressFormat.Short(evt.Leader);
            _log.Info("LeaderChanged leader={0} | {1}", leader, Summary());
            RecentClusterEvents.Of(Context.System).Add(nameof(LeaderChanged), $"leader={leader}");
        });
        Receive<JoinReminder>(_ => RemindIfNotJoined());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="joinThrough">whom the node asks to let it in, for the log (its seeds, or its discovery)</param>
    public static Props Props(string joinThrough) => Akka.Actor.Props.Create(() => new MembershipListener(joinThrough));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _cluster.Subscribe(Self, SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(IMemberEvent), typeof(IReachabilityEvent), typeof(LeaderChanged));
        Timers.StartPeriodicTimer(nameof(JoinReminder), JoinReminder.Instance, JoinReminderInterval);
    }

    /// <inheritdoc />
    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Report(string eventName, Address member, IEnumerable<string> roles)
    {
        var roleList = string.Join(",", roles);
        _log.Info("{0} member={1}{2} | {3}", eventName, AddressFormat.Short(member),
            roleList.Length == 0 ? "" : $" roles={roleList}", Summary());
        RecentClusterEvents.Of(Context.System).Add(eventName, $"member={AddressFormat.Short(member)}");
    }

    private string Summary()
    {
        var members = _members.Values
            .Select(m => $"{AddressFormat.Short(m.Address)} {m.Status}{(_unreachable.Contains(m.Address) ? " unreachable" : "")}");
        var leader = _leader is null ? "none" : AddressFormat.Short(_leader);
        return $"members={_members.Count} [{string.Join(", ", members)}] unreachable={_unreachable.Count} leader={leader}";
    }

    private void RemindIfNotJoined()
    {
        // Until this node has joined, Akka reports its own member as Removed.
        if (_cluster.SelfMember.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Leaving
            or MemberStatus.Exiting or MemberStatus.Down || _cluster.IsTerminated)
        {
            Timers.Cancel(nameof(JoinReminder));
            return;
        }

        _log.Warning("NotJoined self={0} status={1} after {2:0}s: not let in yet through {3}; still trying",
            AddressFormat.Short(_cluster.SelfAddress),
            _cluster.SelfMember.Status == MemberStatus.Removed ? "not-a-member" : _cluster.SelfMember.Status.ToString(),
            (DateTime.UtcNow - _startedAt).TotalSeconds, _joinThrough);
    }

    private sealed class JoinReminder
    {
        public static readonly JoinReminder Instance = new();
    }
}
