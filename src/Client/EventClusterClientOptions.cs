using System.Security.Cryptography.X509Certificates;

namespace EventCluster.Client;

/// <summary>How an <see cref="EventClusterClient"/> reaches the cluster and how long it tries.</summary>
public sealed class EventClusterClientOptions
{
    /// <summary>The seeds used when <see cref="Seeds"/> is empty.</summary>
    public static readonly IReadOnlyList<string> DefaultSeeds = ["127.0.0.1:4053"];

    /// <summary>
    /// The seed nodes to contact, as <c>host:port</c> (their Akka.Remote ports); any live one will
    /// do. Empty (the default): <see cref="DefaultSeeds"/>.
    /// </summary>
    public IList<string> Seeds { get; set; } = [];

    /// <summary>
    /// The certificate to present for TLS with mutual authentication (the nodes' own .pfx), or
    /// null for plain TCP. Load one with <see cref="Messages.Security.RemoteTls.Load"/>.
    /// </summary>
    public X509Certificate2? TlsCertificate { get; set; }

    /// <summary>
    /// How long a call may take in all, retries included (default 30 s): a send, a read, one page
    /// of a history; for a subscription, how long its first request may go unanswered.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one attempt of a send waits for its acknowledgement before the same event id is sent again (default 5 s).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether an event the journal could not store (database down or overloaded) is sent again
    /// with the same id until <see cref="Timeout"/> runs out (default true); when false, the first
    /// such answer throws <see cref="EventNotStoredException"/>.
    /// </summary>
    public bool RetryNotStored { get; set; } = true;

    /// <summary>The pause before an event the journal could not store is sent again (default 0.5 s).</summary>
    public TimeSpan NotStoredRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Batches of <see cref="EventClusterClient.SendManyAsync(IEnumerable{Messages.Commands.SubmitEvent}, CancellationToken)"/>
    /// in flight at once (default 8, 1 to 1,000): each holds up to 1,000 events for one node.
    /// </summary>
    public int BatchesInFlight { get; set; } = 8;

    /// <summary>
    /// The nodes' API token, for managing webhook subscriptions when the nodes are given one;
    /// null when they have none.
    /// </summary>
    public string? ApiToken { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (Seeds is null)
            throw new ArgumentException("Seeds must be a list of host:port (empty for 127.0.0.1:4053)", nameof(Seeds));
        try
        {
            Messages.Validation.SeedList.Parse(string.Join(",", Seeds.Count == 0 ? DefaultSeeds : Seeds));
        }
        catch (FormatException ex)
        {
            throw new ArgumentException(ex.Message, nameof(Seeds));
        }

        if (Timeout <= TimeSpan.Zero)
            throw new ArgumentException("Timeout must be above zero", nameof(Timeout));
        if (AttemptTimeout <= TimeSpan.Zero)
            throw new ArgumentException("AttemptTimeout must be above zero", nameof(AttemptTimeout));
        if (BatchesInFlight is < 1 or > 1000)
            throw new ArgumentException("BatchesInFlight must be from 1 to 1000", nameof(BatchesInFlight));
        if (NotStoredRetryDelay < TimeSpan.Zero)
            throw new ArgumentException("NotStoredRetryDelay must not be negative", nameof(NotStoredRetryDelay));
    }
}
