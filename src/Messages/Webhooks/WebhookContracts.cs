namespace EventCluster.Messages.Webhooks;

/// <summary>
/// A webhook subscription: the cluster POSTs every matching event to <see cref="Url"/>, at least
/// once, in version order per entity.
/// </summary>
/// <param name="Name">Unique name (the rules of entity ids).</param>
/// <param name="Url">An absolute http or https URL.</param>
/// <param name="Types">Event types to deliver; empty for all.</param>
/// <param name="EntityPrefix">Only entities whose id starts with this, or null for all.</param>
/// <param name="Secret">Key of the HMAC-SHA256 signature header, or null for none. Never shown again once stored.</param>
/// <param name="MaxAttempts">Attempts per event before it is parked.</param>
/// <param name="Concurrency">Entities delivered to in parallel.</param>
public sealed record WebhookDefinition(
    string Name, string Url, IReadOnlyList<string> Types, string? EntityPrefix, string? Secret, int MaxAttempts, int Concurrency)
{
    /// <summary>Attempts per event when none is given.</summary>
    public const int DefaultMaxAttempts = 10;

    /// <summary>Longest secret a node accepts.</summary>
    public const int MaxSecretLength = 256;

    /// <summary>Most attempts per event a node accepts.</summary>
    public const int MaxAttemptsLimit = 100;

    /// <summary>Most entities delivered in parallel a node accepts.</summary>
    public const int MaxConcurrency = 256;

    /// <summary>Parallel entities when none is given.</summary>
    public const int DefaultConcurrency = 16;
}

/// <summary>A webhook subscription as shown: its definition without the secret, and how its delivery goes.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Url">Where events go.</param>
/// <param name="Types">The event types delivered; empty for all.</param>
/// <param name="EntityPrefix">The entity id prefix, or null.</param>
/// <param name="HasSecret">True when deliveries are signed.</param>
/// <param name="MaxAttempts">Attempts per event before it is parked.</param>
/// <param name="Concurrency">Entities delivered to in parallel.</param>
/// <param name="Position">Every matching event up to here was delivered or parked.</param>
/// <param name="Lag">Events stored after the position.</param>
/// <param name="Delivered">Events delivered (confirmed with a 2xx).</param>
/// <param name="Retries">Attempts that failed and were retried.</param>
/// <param name="Parked">Events parked now.</param>
/// <param name="LastError">The last delivery error, or null.</param>
/// <param name="Runner">The node running the subscription, or null while none does.</param>
public sealed record WebhookInfo(
    string Name, string Url, IReadOnlyList<string> Types, string? EntityPrefix, bool HasSecret, int MaxAttempts, int Concurrency,
    long Position, long Lag, long Delivered, long Retries, long Parked, string? LastError, string? Runner);

/// <summary>A parked event: its delivery failed for good and waits for a replay.</summary>
/// <param name="Position">The event's position.</param>
/// <param name="EntityId">Its entity.</param>
/// <param name="Version">Its version.</param>
/// <param name="EventId">Its id.</param>
/// <param name="Attempts">Attempts made.</param>
/// <param name="LastError">Why the last one failed.</param>
/// <param name="ParkedAt">When it was parked.</param>
public sealed record ParkedEvent(long Position, string EntityId, long Version, string EventId, int Attempts, string LastError, DateTimeOffset ParkedAt);

/// <summary>Adds a webhook subscription; answered with <see cref="WebhookAnswer"/>.</summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Definition">The subscription.</param>
/// <param name="After">Deliver events after this position, or <see cref="Subscriptions.ReadEventLog.FromEnd"/>.</param>
/// <param name="Token">The node's API token when it has one.</param>
public sealed record AddWebhook(string RequestId, WebhookDefinition Definition, long After, string? Token) : IEventClusterMessage;

/// <summary>Lists the subscriptions, or shows one (with its parked events); answered with <see cref="WebhookAnswer"/>.</summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Name">The one to show, or null for all.</param>
/// <param name="Token">The node's API token when it has one.</param>
public sealed record GetWebhooks(string RequestId, string? Name, string? Token) : IEventClusterMessage;

/// <summary>Removes a subscription and its parked events; answered with <see cref="WebhookAnswer"/>.</summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Name">The subscription.</param>
/// <param name="Token">The node's API token when it has one.</param>
public sealed record RemoveWebhook(string RequestId, string Name, string? Token) : IEventClusterMessage;

/// <summary>Delivers a subscription's parked events again; answered with <see cref="WebhookAnswer"/>.</summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Name">The subscription.</param>
/// <param name="Token">The node's API token when it has one.</param>
public sealed record ReplayParked(string RequestId, string Name, string? Token) : IEventClusterMessage;

/// <summary>
/// The answer to a webhook request: <see cref="Status"/> is an HTTP status (200, 201, 202, 400,
/// 401, 404, 409, 503) with its reason when it is not a success.
/// </summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Status">What happened, as an HTTP status.</param>
/// <param name="Reason">Why it failed, or what was done.</param>
/// <param name="Webhooks">The subscriptions concerned.</param>
/// <param name="Parked">The parked events of the one shown.</param>
public sealed record WebhookAnswer(string RequestId, int Status, string? Reason, IReadOnlyList<WebhookInfo> Webhooks, IReadOnlyList<ParkedEvent> Parked)
    : IEventClusterMessage;

/// <summary>Tells the node running webhooks that definitions changed, or to replay a subscription's parked events.</summary>
/// <param name="ReplayParkedOf">The subscription whose parked events to replay, or null.</param>
public sealed record WebhooksChanged(string? ReplayParkedOf) : IEventClusterMessage;
