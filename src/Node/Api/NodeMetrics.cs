using System.Globalization;
using System.Text;
using Akka.Actor;

namespace EventCluster.Node.Api;

/// <summary>
/// The node's counters for <c>GET /metrics</c> (Prometheus text format): what its entities
/// accepted, recognised as duplicates and rejected, how long persisting took, and how many
/// entities are alive. They belong to the node's actor system (an Akka extension), so several
/// nodes in one process each count their own; entity passivation reads its active-entity count.
/// </summary>
public sealed class NodeMetrics : IExtension
{
    /// <summary>Upper bounds (seconds) of the persist-latency histogram buckets.</summary>
    private static readonly double[] PersistBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly long[] _persistCounts = new long[PersistBuckets.Length + 1];
    private long _accepted;
    private long _duplicates;
    private long _rejected;
    private long _activeEntities;
    private long _persistCount;
    private long _persistMicros;

    /// <summary>The counters of <paramref name="system"/>'s node.</summary>
    public static NodeMetrics Of(ActorSystem system) => system.WithExtension<NodeMetrics, Provider>();

    /// <summary>Events persisted and acknowledged so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>An event was persisted and acknowledged after <paramref name="persistTime"/>.</summary>
    public void EventAccepted(TimeSpan persistTime)
    {
        Interlocked.Increment(ref _accepted);
        var seconds = persistTime.TotalSeconds;
        var bucket = Array.FindIndex(PersistBuckets, bound => seconds <= bound);
        Interlocked.Increment(ref _persistCounts[bucket < 0 ? PersistBuckets.Length : bucket]);
        Interlocked.Increment(ref _persistCount);
        Interlocked.Add(ref _persistMicros, (long)(seconds * 1_000_000));
    }

    /// <summary>A repeated event id was acknowledged as a duplicate.</summary>
    public void EventDuplicate() => Interlocked.Increment(ref _duplicates);

    /// <summary>An event was rejected (invalid, or its entity's data would outgrow the cap).</summary>
    public void EventRejected() => Interlocked.Increment(ref _rejected);

    /// <summary>Entity actors alive in this process.</summary>
    public long ActiveEntities => Interlocked.Read(ref _activeEntities);

    /// <summary>An entity actor started.</summary>
    public void EntityStarted() => Interlocked.Increment(ref _activeEntities);

    /// <summary>An entity actor stopped.</summary>
    public void EntityStopped() => Interlocked.Decrement(ref _activeEntities);

    /// <summary>
    /// The Prometheus text exposition of the counters, plus the cluster view passed in: shards
    /// per node and members per status.
    /// </summary>
    public string Render(IReadOnlyDictionary<string, int> shardsByNode, IReadOnlyDictionary<string, int> membersByStatus)
    {
        var text = new StringBuilder();
        void Metric(string name, string type, string help)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        }

        string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

        Metric("eventcluster_events_accepted_total", "counter", "Events persisted and acknowledged by entities on this node.");
        text.Append("eventcluster_events_accepted_total ").Append(Interlocked.Read(ref _accepted)).Append('\n');
        Metric("eventcluster_events_duplicate_total", "counter", "Repeated event ids acknowledged as duplicates on this node.");
        text.Append("eventcluster_events_duplicate_total ").Append(Interlocked.Read(ref _duplicates)).Append('\n');
        Metric("eventcluster_events_rejected_total", "counter", "Events rejected by this node (invalid, or over an entity's data cap).");
        text.Append("eventcluster_events_rejected_total ").Append(Interlocked.Read(ref _rejected)).Append('\n');

        Metric("eventcluster_persist_latency_seconds", "histogram", "Time from an entity receiving an event to its journal write completing.");
        long cumulative = 0;
        for (var i = 0; i < PersistBuckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref _persistCounts[i]);
            text.Append("eventcluster_persist_latency_seconds_bucket{le=\"").Append(Number(PersistBuckets[i])).Append("\"} ")
                .Append(cumulative).Append('\n');
        }

        cumulative += Interlocked.Read(ref _persistCounts[PersistBuckets.Length]);
        text.Append("eventcluster_persist_latency_seconds_bucket{le=\"+Inf\"} ").Append(cumulative).Append('\n');
        text.Append("eventcluster_persist_latency_seconds_sum ").Append(Number(Interlocked.Read(ref _persistMicros) / 1_000_000.0)).Append('\n');
        text.Append("eventcluster_persist_latency_seconds_count ").Append(Interlocked.Read(ref _persistCount)).Append('\n');

        Metric("eventcluster_active_entities", "gauge", "Entity actors alive on this node.");
        text.Append("eventcluster_active_entities ").Append(Interlocked.Read(ref _activeEntities)).Append('\n');

        Metric("eventcluster_shards", "gauge", "Shards hosted per node, as this node sees the cluster.");
        foreach (var (node, shards) in shardsByNode.OrderBy(p => p.Key, StringComparer.Ordinal))
            text.Append("eventcluster_shards{node=\"").Append(Escape(node)).Append("\"} ").Append(shards).Append('\n');

        Metric("eventcluster_members", "gauge", "Cluster members per status, as this node sees the cluster.");
        foreach (var (status, count) in membersByStatus.OrderBy(p => p.Key, StringComparer.Ordinal))
            text.Append("eventcluster_members{status=\"").Append(Escape(status)).Append("\"} ").Append(count).Append('\n');
        return text.ToString();
    }

    private static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"");

    private sealed class Provider : ExtensionIdProvider<NodeMetrics>
    {
        public override NodeMetrics CreateExtension(ExtendedActorSystem system) => new();
    }
}
