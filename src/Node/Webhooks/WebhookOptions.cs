namespace EventCluster.Node.Webhooks;

/// <summary>How this node delivers webhooks; built by the host from the node's settings.</summary>
public sealed record WebhookOptions
{
    /// <summary>Where webhooks may connect (<c>--webhook-allowed-hosts</c>): by default to no private, loopback or link-local address.</summary>
    public WebhookAddressPolicy Addresses { get; init; } = WebhookAddressPolicy.Default;

    /// <summary>The keys that seal webhook secrets in the journal database (<c>--secrets-key-file</c>); by default none.</summary>
    public WebhookSecrets Secrets { get; init; } = WebhookSecrets.None();

    /// <summary>How long one attempt may take.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest gap between two stored positions of a subscription that delivers.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Deliveries after which the position is stored without waiting for <see cref="CheckpointInterval"/>.</summary>
    public int CheckpointEvery { get; init; } = 1000;

    /// <summary>
    /// Events read ahead of the stored position at most. With the checkpoints it bounds what a
    /// crash repeats: what was delivered since the last checkpoint, within this many events.
    /// </summary>
    public int ReadAhead { get; init; } = 1000;
}
