using Akka.Actor;
using Akka.Event;

namespace EventCluster.Node.Hosting;

/// <summary>
/// Ties the process to the node's membership: when the actor system stops for any reason the
/// host stops too, and a node that the cluster downed (the split-brain resolver put it on the
/// losing side of a partition, or declared it dead) says so and exits 1 instead of 0, so that a
/// supervisor restarts it and it rejoins as a fresh member. A node whose TLS handshake with a
/// peer failed (Akka stops such a node) says why and exits 1 as well.
/// </summary>
public static class NodeLifetime
{
    /// <summary>The exit code of a node that the cluster downed, or whose TLS handshake failed.</summary>
    public const int StoppedByFailureExitCode = 1;

    /// <summary>True once the node stops because the cluster downed it or its TLS handshake failed.</summary>
    public static bool StoppedByFailure { get; private set; }

    /// <summary>The process exit code: <see cref="StoppedByFailureExitCode"/> after such a stop, else what the host set.</summary>
    public static int ExitCode => StoppedByFailure ? StoppedByFailureExitCode : Environment.ExitCode;

    /// <summary>Logs <paramref name="reason"/> as the reason this node cannot go on, and stops it with <see cref="StoppedByFailureExitCode"/>.</summary>
    public static Task StopForFailureAsync(ActorSystem system, string reason)
    {
        StoppedByFailure = true;
        Logging.GetLogger(system, "EventCluster.Node").Error("Stopping: {0}", reason);
        return CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.UnknownReason.Instance);
    }

    /// <summary>Watches <paramref name="system"/> on behalf of the host.</summary>
    public static void Watch(ActorSystem system, IHostApplicationLifetime? lifetime, ILogger logger)
    {
        var shutdown = CoordinatedShutdown.Get(system);
        shutdown.AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "eventcluster-downed", () =>
        {
            // Akka's reason type for this is internal; its name is the stable part.
            if (shutdown.ShutdownReason?.GetType().Name == "TlsHandshakeFailureReason")
            {
                StoppedByFailure = true;
                logger.LogError(
                    "TLS handshake with another node failed: it does not trust this node's certificate or this node does not " +
                    "trust its one (see the error above). Every node and client of a cluster needs the cluster's certificate; stopping.");
            }
            else if (shutdown.ShutdownReason is CoordinatedShutdown.ClusterDowningReason)
            {
                StoppedByFailure = true;
                logger.LogWarning(
                    "This node was downed by the cluster (cut off from the majority, or taken for dead); it stops now " +
                    "so that its entities cannot go on writing. Restart it to rejoin as a new member.");
            }

            return Task.FromResult(Akka.Done.Instance);
        });
        system.WhenTerminated.ContinueWith(_ => lifetime?.StopApplication(), TaskScheduler.Default);
    }
}
