namespace EventCluster.Messages.Queries;

/// <summary>Asks a node for the cluster's membership and shard placement.</summary>
public sealed record GetClusterStatus : IEventClusterMessage
{
    /// <summary>The single instance.</summary>
    public static readonly GetClusterStatus Instance = new();
}

/// <summary>One cluster member as the answering node sees it.</summary>
/// <param name="Address">Akka address of the member.</param>
/// <param name="Status">Membership status: Joining, Up, Leaving, Exiting, Down, Removed…</param>
/// <param name="Roles">Cluster roles of the member.</param>
/// <param name="Reachable">False when the failure detector considers it unreachable.</param>
public sealed record MemberInfo(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable);

/// <summary>Shards and live entities hosted by one node.</summary>
/// <param name="Address">Akka address of the node.</param>
/// <param name="ShardCount">Shards it hosts.</param>
/// <param name="EntityCount">Entities alive on it (passivated ones are not counted).</param>
/// <param name="ShardIds">The ids of the shards it hosts.</param>
public sealed record NodeShards(string Address, int ShardCount, int EntityCount, IReadOnlyList<string> ShardIds);

/// <summary>The cluster's state as seen by the node that answered.</summary>
/// <param name="Members">Every member with its status and reachability.</param>
/// <param name="Leader">Address of the leader, if there is one.</param>
/// <param name="Nodes">Per node its shard and entity counts.</param>
/// <param name="Node">Address of the node that answered.</param>
/// <param name="RecentEvents">The answering node's latest cluster events, oldest first.</param>
public sealed record ClusterStatusResult(
    IReadOnlyList<MemberInfo> Members,
    string? Leader,
    IReadOnlyList<NodeShards> Nodes,
    string Node,
    IReadOnlyList<ClusterEventEntry> RecentEvents) : IEventClusterMessage;

/// <summary>One cluster event as a node logged it.</summary>
/// <param name="At">When the node saw it.</param>
/// <param name="Kind">The event: MemberUp, UnreachableMember, ShardsMoved, ShardDistribution…</param>
/// <param name="Detail">The rest of its log line.</param>
public sealed record ClusterEventEntry(DateTimeOffset At, string Kind, string Detail);
