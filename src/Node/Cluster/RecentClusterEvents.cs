using Akka.Actor;
using EventCluster.Messages.Queries;

namespace EventCluster.Node.Cluster;

/// <summary>
/// The node's latest cluster events (membership, reachability, leader, shard moves), the same
/// ones it logs, kept for the status document and the dashboard's timeline; one list per actor
/// system (an Akka extension), so nodes sharing a process keep their own.
/// </summary>
public sealed class RecentClusterEvents : IExtension
{
    /// <summary>How many events are kept.</summary>
    public const int Capacity = 200;

    private readonly Queue<ClusterEventEntry> _events = new();

    /// <summary>The events of <paramref name="system"/>'s node.</summary>
    public static RecentClusterEvents Of(ActorSystem system) => system.WithExtension<RecentClusterEvents, Provider>();

    public void Add(string kind, string detail)
    {
        lock (_events)
        {
            _events.Enqueue(new ClusterEventEntry(DateTimeOffset.UtcNow, kind, detail));
            while (_events.Count > Capacity)
                _events.Dequeue();
        }
    }

    /// <summary>The events kept, oldest first.</summary>
    public IReadOnlyList<ClusterEventEntry> Snapshot()
    {
        lock (_events)
            return _events.ToList();
    }

    private sealed class Provider : ExtensionIdProvider<RecentClusterEvents>
    {
        public override RecentClusterEvents CreateExtension(ExtendedActorSystem system) => new();
    }
}
