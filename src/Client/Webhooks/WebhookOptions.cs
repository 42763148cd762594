using EventCluster.Client.Subscriptions;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;
using EventCluster.Messages.Webhooks;

namespace EventCluster.Client.Webhooks;

/// <summary>What a new webhook subscription delivers beside its name and URL, and from where.</summary>
public sealed class WebhookOptions
{
    /// <summary>Longest secret the nodes accept.</summary>
    public const int MaxSecretLength = WebhookDefinition.MaxSecretLength;

    /// <summary>Most attempts per event the nodes accept.</summary>
    public const int MaxAttemptsLimit = WebhookDefinition.MaxAttemptsLimit;

    /// <summary>Most entities delivered in parallel the nodes accept.</summary>
    public const int MaxConcurrency = WebhookDefinition.MaxConcurrency;

    /// <summary>Only events of these types (any of them); empty for every type.</summary>
    public IList<string> Types { get; set; } = [];

    /// <summary>Only the events of entities whose id starts with this.</summary>
    public string? EntityPrefix { get; set; }

    /// <summary>Sign each delivery with HMAC-SHA256 of this secret (header <c>EventCluster-Signature</c>); never shown again once stored.</summary>
    public string? Secret { get; set; }

    /// <summary>Attempts per event before it is parked, 1 to <see cref="MaxAttemptsLimit"/> (default 10).</summary>
    public int MaxAttempts { get; set; } = WebhookDefinition.DefaultMaxAttempts;

    /// <summary>Entities delivered in parallel, 1 to <see cref="MaxConcurrency"/> (default 16); each entity's events stay in order.</summary>
    public int Concurrency { get; set; } = WebhookDefinition.DefaultConcurrency;

    /// <summary>Deliver the events after this position: <see cref="SubscribeOptions.Start"/> (the default), <see cref="SubscribeOptions.End"/> or a position.</summary>
    public long From { get; set; } = SubscribeOptions.Start;

    /// <summary>The definition sent to the cluster; throws <see cref="ArgumentException"/> naming the first broken rule.</summary>
    internal WebhookDefinition Define(string name, string url)
    {
        if (EventValidation.CheckName("subscription name", name) is { } badName)
            throw new ArgumentException(badName);
        if (string.IsNullOrWhiteSpace(url))
            throw new ArgumentException("url is required");
        if (url.Length > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") ||
            string.IsNullOrEmpty(parsed.Host))
            throw new ArgumentException($"url '{EventValidation.Printable(url, 80)}' must be an absolute http or https URL");
        if (!string.IsNullOrEmpty(parsed.UserInfo))
            throw new ArgumentException("url must not carry a user name or password; use a secret for signatures");
        if (Types is null || Types.Any(type => type is null))
            throw new ArgumentException("Types must be a list of event types (empty for every type)");
        if (EventValidation.CheckFilter(new EventFilter(Types.ToList(), null, EntityPrefix)) is { } filter)
            throw new ArgumentException(filter);
        if (Secret is { Length: 0 or > MaxSecretLength })
            throw new ArgumentException($"secret must be 1 to {MaxSecretLength} characters");
        if (MaxAttempts is < 1 or > MaxAttemptsLimit)
            throw new ArgumentException($"maxAttempts {MaxAttempts} must be from 1 to {MaxAttemptsLimit}");
        if (Concurrency is < 1 or > MaxConcurrency)
            throw new ArgumentException($"concurrency {Concurrency} must be from 1 to {MaxConcurrency}");
        if (From < 0 && From != SubscribeOptions.End)
            throw new ArgumentException("From must be Start, End or a position (a whole number of 0 or more)");
        return new WebhookDefinition(name, url, Types.ToList(), EntityPrefix, Secret, MaxAttempts, Concurrency);
    }
}

/// <summary>One webhook subscription with the events it parked.</summary>
/// <param name="Subscription">Its definition (without the secret) and how its delivery goes.</param>
/// <param name="ParkedEvents">Events whose delivery failed for good, in position order, waiting for a replay.</param>
public sealed record WebhookDetails(WebhookInfo Subscription, IReadOnlyList<ParkedEvent> ParkedEvents);
