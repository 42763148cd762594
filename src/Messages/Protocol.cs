namespace EventCluster.Messages;

/// <summary>
/// Marker for every message EventCluster sends over the wire or writes to the journal.
/// The one serializer of <see cref="Serialization.EventClusterSerializer"/> is bound to it,
/// so no contract ever falls back to a type-name serializer.
/// </summary>
public interface IEventClusterMessage;

/// <summary>A message addressed to one entity; sharding routes it by <see cref="EntityId"/>.</summary>
public interface IWithEntityId
{
    /// <summary>The id of the entity the message is for.</summary>
    string EntityId { get; }
}
