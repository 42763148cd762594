namespace EventCluster.Node.Entities;

/// <summary>Actor-registry key of the entity shard region.</summary>
public sealed class EntityRegion;
