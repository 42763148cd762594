using EventCluster.Messages.Subscriptions;

namespace EventCluster.Client.Subscriptions;

/// <summary>Every consumer group, as one node read them.</summary>
/// <param name="Head">The highest position in the journal then; a group's lag counts the events stored after its position.</param>
/// <param name="Groups">The groups by name: position, lag, whether a member holds it, its last confirmation.</param>
public sealed record GroupsResult(long Head, IReadOnlyList<GroupInfo> Groups);
