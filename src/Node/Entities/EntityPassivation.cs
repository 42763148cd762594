using Akka.Configuration;

namespace EventCluster.Node.Entities;

/// <summary>
/// How a node bounds the memory its entities take (<c>eventcluster.passivation</c> in hocon/sharding.hocon).
/// </summary>
/// <param name="ActiveEntityLimit">Entities a node keeps alive before idle ones are stopped early.</param>
/// <param name="CrowdedIdleTimeout">Idle time after which an entity stops while the node is over the limit.</param>
public sealed record EntityPassivation(long ActiveEntityLimit, TimeSpan CrowdedIdleTimeout)
{
    /// <summary>Reads the settings; defaults apply where the configuration is silent.</summary>
    public static EntityPassivation From(Config config) => new(
        config.GetLong("eventcluster.passivation.active-entity-limit", 5_000),
        config.GetTimeSpan("eventcluster.passivation.crowded-idle-timeout", TimeSpan.FromSeconds(2)));
}
