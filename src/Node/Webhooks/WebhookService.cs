using Akka.Actor;
using Microsoft.Extensions.Logging;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Journal;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// Managing webhook subscriptions, on any node: definitions go to the journal database, and the
/// node running webhooks is told at once (it also rereads them every few seconds). Callers
/// authorize the requests first (the HTTP endpoints and the ingress check the API token).
/// </summary>
public sealed class WebhookService(JournalDatabase database, IActorRef coordinator, WebhookOptions options)
{
    /// <summary>Longest secret accepted.</summary>
    public const int MaxSecretLength = WebhookDefinition.MaxSecretLength;

    /// <summary>Answers a management request.</summary>
    public async Task<WebhookAnswer> HandleAsync(object request)
    {
        switch (request)
        {
            case AddWebhook add:
                return await AddAsync(add);
            case GetWebhooks get:
                return await GetAsync(get);
            case RemoveWebhook remove:
                if (EventValidation.CheckName("subscription name", remove.Name) is { } badName)
                    return Refused(remove.RequestId, 400, badName);
                if (!await database.Workers.RunAsync(store => WebhookStore.Delete(store, remove.Name)))
                    return Refused(remove.RequestId, 404, $"no webhook subscription named '{remove.Name}'");
                coordinator.Tell(new WebhooksChanged(null));
                return new WebhookAnswer(remove.RequestId, 200, $"removed {remove.Name}", [], []);
            case ReplayParked replay:
                if (EventValidation.CheckName("subscription name", replay.Name) is { } badReplayName)
                    return Refused(replay.RequestId, 400, badReplayName);
                var parked = await database.Workers.RunAsync(store =>
                    WebhookStore.Load(store, options.Secrets, replay.Name).Count == 0 ? (long?)null : WebhookStore.Parked(store, replay.Name).Count);
                if (parked is null)
                    return Refused(replay.RequestId, 404, $"no webhook subscription named '{replay.Name}'");
                coordinator.Tell(new WebhooksChanged(replay.Name));
                return new WebhookAnswer(replay.RequestId, 202, $"replaying {parked} parked events of {replay.Name}", [], []);
            default:
                throw new ArgumentException($"not a webhook request: {request.GetType().Name}");
        }
    }

    /// <summary>
    /// Seals, under the first secrets key, every stored secret in plain text or under another key
    /// (<see cref="WebhookStore.Reseal"/>): what a node does when it starts with a key. Logs what it did.
    /// </summary>
    public async Task ResealAsync(ILogger log)
    {
        if (!options.Secrets.CanSeal)
        {
            log.LogInformation("Webhook secrets: no secrets key; new secrets are {Policy}", options.Secrets.AllowPlaintext
                ? "stored in plain text (--allow-plaintext-secrets)" : "refused until the nodes have --secrets-key-file or EVENTCLUSTER_SECRETS_KEY");
            return;
        }

        try
        {
            var count = await database.Workers.RunAsync(store => WebhookStore.Reseal(store, options.Secrets));
            log.LogInformation("Webhook secrets: sealed under key {KeyId}; {Count} stored secrets sealed again", options.Secrets.SealingKeyId, count);
        }
        catch (Exception ex)
        {
            log.LogWarning("Webhook secrets: could not seal the stored secrets again under key {KeyId} (retried at the next start): {Error}",
                options.Secrets.SealingKeyId, ex.GetBaseException().Message);
        }
    }

    /// <summary>Every subscription with its figures, for metrics and the dashboard.</summary>
    public Task<List<WebhookInfo>> ListAsync() => database.Workers.RunAsync(store => Describe(store, null));

    /// <summary>What is wrong with a definition, or null.</summary>
    public static string? Check(WebhookDefinition definition)
    {
        if (EventValidation.CheckName("subscription name", definition.Name) is { } name)
            return name;
        if (string.IsNullOrWhiteSpace(definition.Url))
            return "url is required";
        if (definition.Url.Length > 2048 || !Uri.TryCreate(definition.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") ||
            string.IsNullOrEmpty(url.Host))
            return $"url '{EventValidation.Printable(definition.Url, 80)}' must be an absolute http or https URL";
        if (!string.IsNullOrEmpty(url.UserInfo))
            return "url must not carry a user name or password; use a secret for signatures";
        if (EventValidation.CheckFilter(new EventFilter(definition.Types ?? [], null, definition.EntityPrefix)) is { } filter)
            return filter;
        if (definition.Secret is { } secret && (secret.Length == 0 || secret.Length > MaxSecretLength))
            return $"secret must be 1 to {MaxSecretLength} characters";
        if (definition.MaxAttempts is < 1 or > WebhookDefinition.MaxAttemptsLimit)
            return $"maxAttempts {definition.MaxAttempts} must be from 1 to {WebhookDefinition.MaxAttemptsLimit}";
        if (definition.Concurrency is < 1 or > WebhookDefinition.MaxConcurrency)
            return $"concurrency {definition.Concurrency} must be from 1 to {WebhookDefinition.MaxConcurrency}";
        return null;
    }

    private async Task<WebhookAnswer> AddAsync(AddWebhook add)
    {
        if (add.Definition is null)
            return Refused(add.RequestId, 400, "a definition is required");
        if (Check(add.Definition) is { } problem)
            return Refused(add.RequestId, 400, problem);
        // Early word for the caller; each connection is checked again when it is made.
        if (await options.Addresses.RefusalAsync(new Uri(add.Definition.Url), CancellationToken.None) is { } refused)
            return Refused(add.RequestId, 400, refused);
        if (add.Definition.Secret is not null && !options.Secrets.CanSeal && !options.Secrets.AllowPlaintext)
            return Refused(add.RequestId, 400, "this node has no key to store webhook secrets encrypted: give the nodes --secrets-key-file " +
                "or EVENTCLUSTER_SECRETS_KEY (openssl rand -base64 32), or --allow-plaintext-secrets true to keep them in plain text");
        if (add.After < ReadEventLog.FromEnd)
            return Refused(add.RequestId, 400, $"from {add.After} must be start, end or a position (a whole number of 0 or more)");
        var info = await database.Workers.RunAsync(store =>
        {
            var start = add.After == ReadEventLog.FromEnd ? store.HeadPosition() : add.After;
            return WebhookStore.Insert(store, add.Definition, start, options.Secrets) ? Describe(store, add.Definition.Name) : null;
        });
        if (info is null)
            return Refused(add.RequestId, 409, $"a webhook subscription named '{add.Definition.Name}' exists already");
        coordinator.Tell(new WebhooksChanged(null));
        return new WebhookAnswer(add.RequestId, 201, null, info, []);
    }

    private async Task<WebhookAnswer> GetAsync(GetWebhooks get)
    {
        if (get.Name is not null && EventValidation.CheckName("subscription name", get.Name) is { } badName)
            return Refused(get.RequestId, 400, badName);
        var (webhooks, parked) = await database.Workers.RunAsync(store =>
            (Describe(store, get.Name), get.Name is null ? [] : WebhookStore.Parked(store, get.Name)));
        if (get.Name is not null && webhooks.Count == 0)
            return Refused(get.RequestId, 404, $"no webhook subscription named '{get.Name}'");
        return new WebhookAnswer(get.RequestId, 200, null, webhooks, parked);
    }

    private List<WebhookInfo> Describe(IJournalStore store, string? name)
    {
        var parked = WebhookStore.ParkedCounts(store);
        var head = store.HeadPosition();
        return WebhookStore.Load(store, options.Secrets, name).Select(row =>
        {
            var d = row.Definition;
            return new WebhookInfo(d.Name, d.Url, d.Types, d.EntityPrefix, d.Secret is not null || row.SecretProblem is not null, d.MaxAttempts,
                d.Concurrency, row.Position, Subscriptions.Lag.Of(store, row.Position, head), row.Delivered, row.Retries,
                parked.GetValueOrDefault(d.Name), row.SecretProblem ?? row.LastError, row.Runner);
        }).ToList();
    }

    private static WebhookAnswer Refused(string requestId, int status, string reason) => new(requestId ?? "", status, reason, [], []);
}

/// <summary>Answers webhook requests that come from clients through the ingress.</summary>
public sealed class WebhookManager : ReceiveActor
{
    /// <summary>Creates the manager.</summary>
    public WebhookManager(WebhookService service)
    {
        ReceiveAny(request =>
        {
            var requestId = request switch
            {
                AddWebhook add => add.RequestId,
                GetWebhooks get => get.RequestId,
                RemoveWebhook remove => remove.RequestId,
                ReplayParked replay => replay.RequestId,
                _ => null,
            };
            if (requestId is null)
            {
                Unhandled(request);
                return;
            }

            service.HandleAsync(request).PipeTo(Sender,
                failure: ex => new WebhookAnswer(requestId, 503, $"the journal database could not be reached: {ex.GetBaseException().Message}", [], []));
        });
    }

    /// <summary>Props of the manager.</summary>
    public static Props Props(WebhookService service) => Akka.Actor.Props.Create(() => new WebhookManager(service));
}
