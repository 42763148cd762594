using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence;
using EventCluster.Node.Entities;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventCluster.Node.Hosting;

/// <summary>
/// The node's health checks, run by ASP.NET Core's health-check service: Akka.Hosting's own
/// (the actor system runs; the node has joined a cluster) and the node's (it is an Up member and
/// not shutting down, its shard region is started, its journal answers). The liveness probe asks
/// the first kind, the readiness probe all the others.
/// </summary>
public static class NodeHealth
{
    /// <summary>Tag of the checks behind <c>/health/live</c>.</summary>
    public const string LiveTag = "live";

    /// <summary>Tag of the checks behind <c>/health/ready</c>.</summary>
    public const string ReadyTag = "ready";

    /// <summary>How long the readiness probe waits for the journal before it calls it not ready.</summary>
    public static readonly TimeSpan JournalTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Registers the checks with the node's actor system.</summary>
    public static AkkaConfigurationBuilder WithEventClusterHealthChecks(this AkkaConfigurationBuilder builder) =>
        builder
            .WithActorSystemLivenessCheck(tags: [LiveTag])
            // Akka.Hosting's check turns healthy once the node has joined and stays so: the
            // member check below is the one that turns false again when the node leaves.
            .WithAkkaClusterReadinessCheck(tags: [ReadyTag])
            .WithHealthCheck("eventcluster-member", (system, _, _) => Task.FromResult(Member(system)), tags: [ReadyTag])
            .WithHealthCheck("eventcluster-shard-region", (_, registry, _) => Task.FromResult(registry.TryGet<EntityRegion>(out _)
                ? HealthCheckResult.Healthy("the shard region is started")
                : HealthCheckResult.Unhealthy("the shard region is not started yet")), tags: [ReadyTag])
            .WithHealthCheck("eventcluster-journal", JournalAsync, tags: [ReadyTag], timeout: JournalTimeout);

    /// <summary>
    /// Ready only while this node is an Up member and no shutdown has begun: a graceful leave sets
    /// the shutdown reason before its first phase, so the node stops being ready before it hands
    /// any shard off, while it still serves the requests it has.
    /// </summary>
    private static HealthCheckResult Member(ActorSystem system)
    {
        if (CoordinatedShutdown.Get(system).ShutdownReason is { } reason)
            return HealthCheckResult.Unhealthy($"the node is leaving the cluster ({reason.GetType().Name.Replace("Reason", "")}): " +
                                               "it hands its shards off and stops");
        var status = Akka.Cluster.Cluster.Get(system).SelfMember.Status;
        return status == MemberStatus.Up
            ? HealthCheckResult.Healthy("this node is an Up member")
            : HealthCheckResult.Unhealthy($"this node is {status}, not an Up member");
    }

    private static async Task<HealthCheckResult> JournalAsync(ActorSystem system, ActorRegistry registry, CancellationToken cancellationToken)
    {
        // null names the default journal: the node's SQLite or PostgreSQL plugin.
        var result = await Persistence.Instance.Apply(system).CheckJournalHealthAsync(null!, cancellationToken);
        return result.Status == PersistenceHealthStatus.Healthy
            ? HealthCheckResult.Healthy(result.Description)
            : HealthCheckResult.Unhealthy($"{result.Status}: {result.Description}", result.Exception);
    }
}
