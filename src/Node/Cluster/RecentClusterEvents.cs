using EventCluster.Messages.Queries;

namespace EventCluster.Node.Cluster;

/// <summary>
/// The node's latest cluster events (membership, reachability, leader, shard moves), the same
/// ones it logs, kept for the status document and the dashboard's timeline.
/// </summary>
public static class RecentClusterEvents
{
    /// <summary>How many events are kept.</summary>
    public const int Capacity = 200;

    private static readonly Queue<ClusterEventEntry> Events = new();

    /// <summary>Records an event.</summary>
    public static void Add(string kind, string detail)
    {
        lock (Events)
        {
            Events.Enqueue(new ClusterEventEntry(DateTimeOffset.UtcNow, kind, detail));
            while (Events.Count > Capacity)
                Events.Dequeue();
        }
    }

    /// <summary>The events kept, oldest first.</summary>
    public static IReadOnlyList<ClusterEventEntry> Snapshot()
    {
        lock (Events)
            return Events.ToList();
    }
}
