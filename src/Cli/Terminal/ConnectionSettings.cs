using System.Security.Cryptography.X509Certificates;
using EventCluster.Client;
using EventCluster.Client.Connection;

namespace EventCluster.Cli.Terminal;

/// <summary>How the commands reach the cluster: the global options --seeds, --timeout and TLS.</summary>
public sealed record ConnectionSettings(IReadOnlyList<string> Seeds, TimeSpan? Timeout, X509Certificate2? TlsCertificate)
{
    /// <summary>A connection for commands that speak the cluster's messages directly.</summary>
    public ClusterConnection Connect() => ClusterConnection.Connect(Seeds, TlsCertificate);

    /// <summary>
    /// A library client waiting at most <see cref="Timeout"/> (else <paramref name="fallback"/>)
    /// per call; an event the journal could not store is reported at once, not sent again.
    /// </summary>
    public EventClusterClient Client(TimeSpan fallback) =>
        new(new EventClusterClientOptions
        {
            Seeds = Seeds.ToList(), TlsCertificate = TlsCertificate, Timeout = Timeout ?? fallback, RetryNotStored = false,
        });
}
