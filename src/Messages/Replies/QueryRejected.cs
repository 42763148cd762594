namespace EventCluster.Messages.Replies;

/// <summary>A query about an entity was refused (for example an invalid entity id).</summary>
/// <param name="EntityId">The entity id as asked.</param>
/// <param name="Reason">What is wrong.</param>
public sealed record QueryRejected(string EntityId, string Reason) : IEventClusterMessage;
