using System.Security.Cryptography.X509Certificates;
using EventCluster.Client;
using EventCluster.Client.Connection;

namespace EventCluster.Cli.Terminal;

/// <summary>How the commands reach the cluster: the global options --seeds, --timeout and TLS.</summary>
public sealed record ConnectionSettings(IReadOnlyList<string> Seeds, TimeSpan? Timeout, X509Certificate2? TlsCertificate)
{
    /// <summary>A connection for the commands that need more than the library offers (load, verify).</summary>
    internal ClusterConnection Connect() => ClusterConnection.Connect(Seeds, TlsCertificate);

    /// <summary>
    /// A library client waiting at most <see cref="Timeout"/> (else <see cref="CommandTree.DefaultTimeout"/>)
    /// per call; an event the journal could not store is reported at once, not sent again.
    /// </summary>
    public EventClusterClient Client(string? apiToken = null) =>
        new(new EventClusterClientOptions
        {
            Seeds = Seeds.ToList(), TlsCertificate = TlsCertificate, Timeout = Timeout ?? CommandTree.DefaultTimeout, RetryNotStored = false,
            ApiToken = apiToken,
        });
}
