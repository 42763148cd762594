namespace EventCluster.Messages.Journal;

/// <summary>
/// A snapshot of an entity's state, including the ids of its most recent events so that
/// de-duplication survives recovery from the snapshot.
/// </summary>
/// <param name="Version">Journal sequence number the snapshot was taken at.</param>
/// <param name="EventCount">Events applied up to the snapshot.</param>
/// <param name="CountsByType">Applied events per type.</param>
/// <param name="LastEventId">Id of the last applied event.</param>
/// <param name="LastEventType">Type of the last applied event.</param>
/// <param name="LastEventAt">When the last event was applied.</param>
/// <param name="Data">The merged JSON object.</param>
/// <param name="RecentEventIds">The most recent event ids, oldest first.</param>
/// <param name="RecentPositions">The global position of each of <paramref name="RecentEventIds"/> (0 where unknown); null in snapshots of releases before positions.</param>
public sealed record EntitySnapshot(
    long Version,
    long EventCount,
    IReadOnlyDictionary<string, long> CountsByType,
    string? LastEventId,
    string? LastEventType,
    DateTimeOffset? LastEventAt,
    [property: RawJson] string Data,
    IReadOnlyList<string> RecentEventIds,
    IReadOnlyList<long>? RecentPositions = null) : IEventClusterMessage;
