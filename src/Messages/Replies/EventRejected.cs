namespace EventCluster.Messages.Replies;

/// <summary>The event was refused and changed nothing.</summary>
/// <param name="EntityId">The entity id as submitted.</param>
/// <param name="EventId">The event id as submitted.</param>
/// <param name="Reason">What is wrong, in words a user can act on.</param>
public sealed record EventRejected(string EntityId, string EventId, string Reason) : IEventClusterMessage;
