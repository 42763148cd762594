namespace EventCluster.Messages.Journal;

/// <summary>The journal record of one applied event. Its sequence number is the entity's version.</summary>
/// <param name="EventId">The id of the event (the de-duplication key).</param>
/// <param name="Type">The event type.</param>
/// <param name="Data">The JSON object payload, merge-patched into the entity's data.</param>
/// <param name="At">When the entity applied it.</param>
public sealed record EventApplied(string EventId, string Type, [property: RawJson] string Data, DateTimeOffset At)
    : IEventClusterMessage;
