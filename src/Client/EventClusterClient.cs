using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Client.Connection;
using EventCluster.Client.Subscriptions;
using EventCluster.Client.Webhooks;
using EventCluster.Messages;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;
using EventCluster.Messages.Webhooks;

namespace EventCluster.Client;

/// <summary>
/// A connection to an EventCluster cluster through its seed nodes. Thread-safe: share one
/// instance in an application (it holds one connection, a small non-member actor system);
/// dispose it on shutdown.
/// </summary>
/// <remarks>
/// A send is retried with the same event id until the cluster acknowledges it, and a repeat of a
/// stored event is acknowledged as a duplicate with the original version and position: an event
/// id is stored once however often it is sent. When a send gives up, the exception carries the
/// event id to send again with.
/// </remarks>
public sealed class EventClusterClient : IAsyncDisposable, IDisposable
{
    private static readonly JsonSerializerOptions DataJson = new(JsonSerializerDefaults.Web);
    private readonly EventClusterClientOptions _options;

    /// <summary>Connects to the cluster; the first call waits until a seed answers.</summary>
    public EventClusterClient(EventClusterClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        Seeds = SeedList.Parse(string.Join(",", options.Seeds.Count == 0 ? EventClusterClientOptions.DefaultSeeds : options.Seeds));
        Connection = ClusterConnection.Connect(Seeds, options.TlsCertificate);
    }

    /// <summary>The seed nodes contacted.</summary>
    public IReadOnlyList<string> Seeds { get; }

    /// <summary>The connection underneath, for the command line's load generation and journal checks.</summary>
    internal ClusterConnection Connection { get; }

    /// <summary>
    /// Stores one event for <paramref name="entityId"/> and returns its acknowledgement (version,
    /// global position, node; <see cref="EventAccepted.Duplicate"/> when this id was stored
    /// before). <paramref name="data"/> is a JSON object: a <see cref="string"/> is taken as JSON
    /// text, anything else is serialized (camelCase); null is <c>{}</c>. Without
    /// <paramref name="eventId"/> a new time-ordered id is drawn; give your own to make a retry
    /// across restarts of your application safe.
    /// </summary>
    /// <exception cref="ArgumentException">The entity id, type, event id or data break a rule; nothing was sent.</exception>
    /// <exception cref="EventRejectedException">The cluster refused the event; nothing was stored.</exception>
    /// <exception cref="EventNotStoredException">The journal could not store it (within <see cref="EventClusterClientOptions.Timeout"/> when <see cref="EventClusterClientOptions.RetryNotStored"/>).</exception>
    /// <exception cref="ClusterUnreachableException">No node answered within <see cref="EventClusterClientOptions.Timeout"/>; the event may or may not be stored, so send it again with <see cref="ClusterUnreachableException.EventId"/>.</exception>
    public Task<EventAccepted> SendAsync(string entityId, string type, object? data = null, string? eventId = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(NewEvent(entityId, type, data, eventId), cancellationToken);

    /// <summary>Stores an event built (and checked) by <see cref="NewEvent"/>; the same answers and exceptions as the other overload.</summary>
    public async Task<EventAccepted> SendAsync(SubmitEvent command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        var reply = await Connection.SubmitWithRetriesAsync(command, _options.Timeout, _options.AttemptTimeout,
            _options.RetryNotStored ? _options.NotStoredRetryDelay : null, onRetry: null, cancellationToken: cancellationToken);
        return reply switch
        {
            EventAccepted accepted => accepted,
            EventRejected rejected => throw new EventRejectedException(rejected.EntityId, rejected.EventId, rejected.Reason),
            EventNotStored notStored => throw new EventNotStoredException(notStored.EntityId, notStored.EventId, notStored.Reason),
            _ => throw ConnectionErrors.NoAnswer(Seeds, _options.Timeout, $"event {command.EventId}", command.EventId),
        };
    }

    /// <summary>
    /// Stores many events, of one entity or many, and returns what became of each, in the order
    /// given. Each event keeps its own id, de-duplication, acknowledgement and position, and the
    /// events of one entity are applied in the order given. Events travel in batches of up to
    /// 1,000 to the node hosting their entity, which persists each entity's events together;
    /// <see cref="EventClusterClientOptions.BatchesInFlight"/> batches are in flight at once.
    /// Events that got no answer, or that the journal could not store, are sent again with the
    /// same ids until <see cref="EventClusterClientOptions.Timeout"/> runs out for their batch.
    /// Nothing throws for one event: a refused one is <see cref="EventOutcome.Rejected"/>, one
    /// still unsure when the time ran out is <see cref="EventOutcome.Unanswered"/> or
    /// <see cref="EventOutcome.NotStored"/> (send it again with the same id).
    /// </summary>
    public async Task<IReadOnlyList<EventOutcome>> SendManyAsync(IEnumerable<SubmitEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var list = events as IReadOnlyList<SubmitEvent> ?? events.ToList();
        var outcomes = new EventOutcome[list.Count];
        await foreach (var (index, outcome) in Bulk().SendAsync(list.ToAsyncEnumerable(), cancellationToken))
            outcomes[index] = outcome;
        return outcomes;
    }

    /// <summary>
    /// Streams events into the cluster as <see cref="SendManyAsync(IEnumerable{SubmitEvent}, CancellationToken)"/>
    /// does, reading <paramref name="events"/> only as fast as the cluster takes them (memory stays
    /// bounded however long the stream), and yields each event's outcome as its batch completes:
    /// in batch order, which may differ from the order given.
    /// </summary>
    public async IAsyncEnumerable<EventOutcome> SendManyAsync(IAsyncEnumerable<SubmitEvent> events,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        await foreach (var (_, outcome) in Bulk().SendAsync(events, cancellationToken))
            yield return outcome;
    }

    private Bulk.BulkSender Bulk()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new Bulk.BulkSender(Connection, _options.Timeout, _options.RetryNotStored ? _options.NotStoredRetryDelay : null, _options.BatchesInFlight);
    }

    /// <summary>
    /// Checks and builds an event the way <see cref="SendAsync(string, string, object?, string?, CancellationToken)"/>
    /// sends it; throws <see cref="ArgumentException"/> whose message is the broken rule.
    /// </summary>
    public static SubmitEvent NewEvent(string entityId, string type, object? data = null, string? eventId = null)
    {
        eventId ??= NewEventId();
        var problem = EventValidation.CheckEntityId(entityId) ?? EventValidation.CheckType(type) ?? EventValidation.CheckEventId(eventId);
        if (problem is not null)
            throw new ArgumentException(problem);
        var json = data switch
        {
            null => null,
            string text => text,
            JsonNode node => node.ToJsonString(),
            JsonElement element => element.GetRawText(),
            _ => JsonSerializer.Serialize(data, data.GetType(), DataJson),
        };
        if (!EventValidation.TryNormalizeData(json, out var normalized, out var dataProblem))
            throw new ArgumentException(dataProblem);
        return new SubmitEvent(entityId, eventId, type, normalized);
    }

    /// <summary>A fresh event id: time-ordered and unique.</summary>
    public static string NewEventId() => Guid.CreateVersion7().ToString("N");

    /// <summary>The entity's state; <see cref="EntityStateResult.Exists"/> is false when it has applied no events.</summary>
    /// <exception cref="ArgumentException">The entity id breaks a rule; nothing was sent.</exception>
    /// <exception cref="EventClusterRejectedException">The node refused the query.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time.</exception>
    public async Task<EntityStateResult> GetAsync(string entityId, CancellationToken cancellationToken = default)
    {
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new ArgumentException(problem, nameof(entityId));
        var reply = await Answer(Connection.GetStateAsync(entityId, _options.Timeout), $"entity {entityId}", cancellationToken);
        return reply switch
        {
            EntityStateResult state => state,
            QueryRejected rejected => throw new EventClusterRejectedException($"rejected: {rejected.Reason}", rejected.Reason),
            _ => throw Unexpected(reply),
        };
    }

    /// <summary>The members, the leader and the shards per node, as one node sees them.</summary>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the node has no cluster view yet.</exception>
    public async Task<ClusterStatusResult> StatusAsync(CancellationToken cancellationToken = default)
    {
        var reply = await Answer(Connection.GetStatusAsync(_options.Timeout), "the cluster status", cancellationToken);
        return reply switch
        {
            ClusterStatusResult status => status,
            QueryRejected rejected => throw new ClusterUnreachableException(rejected.Reason),
            _ => throw Unexpected(reply),
        };
    }

    /// <summary>
    /// One page of an entity's events in version order, from <paramref name="fromVersion"/>, at
    /// most <paramref name="limit"/> (1 to 1,000); null when the entity has applied no events.
    /// </summary>
    public async Task<EntityHistoryResult?> HistoryPageAsync(string entityId, long fromVersion = 1, int limit = GetEntityHistory.DefaultLimit,
        CancellationToken cancellationToken = default)
    {
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new ArgumentException(problem, nameof(entityId));
        ArgumentOutOfRangeException.ThrowIfLessThan(fromVersion, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, GetEntityHistory.MaxLimit);
        var requestId = NewRequestId();
        var reply = await Answer(Connection.ListenAsync(requestId, new GetEntityHistory(requestId, entityId, fromVersion, limit), _options.Timeout),
            $"the history of entity {entityId}", cancellationToken);
        return reply switch
        {
            EntityHistoryResult { Exists: false } => null,
            EntityHistoryResult history => history,
            EventLogRequestRefused { Retryable: true } refused => throw new ClusterUnreachableException($"refused: {refused.Reason}"),
            EventLogRequestRefused refused => throw new EventClusterRejectedException($"refused: {refused.Reason}", refused.Reason),
            _ => throw Unexpected(reply),
        };
    }

    /// <summary>
    /// Every event of an entity in version order from <paramref name="fromVersion"/>, read page
    /// by page; nothing when the entity has applied no events.
    /// </summary>
    public async IAsyncEnumerable<EventRecord> HistoryAsync(string entityId, long fromVersion = 1,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var next = fromVersion;
        while (true)
        {
            var page = await HistoryPageAsync(entityId, next, GetEntityHistory.MaxLimit, cancellationToken);
            if (page is null || page.Events.Count == 0)
                yield break;
            foreach (var record in page.Events)
                yield return record;
            next = page.Events[^1].Version + 1;
            if (next > page.Version)
                yield break;
        }
    }

    /// <summary>
    /// The events of the global log that match <paramref name="options"/>, in position order:
    /// the stored ones, then live ones as they are committed, until cancelled. The subscription
    /// resumes by itself through another node when one dies, never skipping or repeating an
    /// event; with <see cref="SubscribeOptions.Group"/> the cluster keeps its position. An event
    /// counts as handled once the next one is asked for (or when <see cref="SubscribeOptions.Max"/>
    /// ends the subscription after it); leaving the loop early, by <c>break</c> or an exception,
    /// leaves the last event unconfirmed, and the group's next reader gets it again. Cancelling
    /// <paramref name="cancellationToken"/> ends it with <see cref="OperationCanceledException"/>
    /// before the next event.
    /// </summary>
    /// <exception cref="ClusterUnreachableException">No node answered the first request within <see cref="EventClusterClientOptions.Timeout"/>.</exception>
    /// <exception cref="EventClusterRejectedException">The subscription was refused, or its group was taken over.</exception>
    public IAsyncEnumerable<EventRecord> SubscribeAsync(SubscribeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        options = (options ?? new SubscribeOptions()).Snapshot();
        options.Validate();
        return new EventSubscription(Connection, Seeds, _options.Timeout, options).ReadAsync(cancellationToken);
    }

    /// <summary>
    /// Erases an entity (needs <see cref="EventClusterClientOptions.ApiToken"/> with the admin scope
    /// when the nodes have tokens): its events become tombstones that keep their positions, its
    /// snapshots and state are dropped, an erase notice is appended to the log (webhooks deliver it),
    /// and the entity takes no more events, old event ids included. Repeating it is safe: an erased
    /// entity answers again with <see cref="EraseResult.AlreadyErased"/>, and a run that was cut off
    /// is completed.
    /// </summary>
    /// <exception cref="ArgumentException">The entity id breaks a rule; nothing was sent.</exception>
    /// <exception cref="EventClusterRejectedException">No such entity, or the token was refused (401, 403): nothing was erased.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal could not erase now: run it again.</exception>
    public async Task<EraseResult> EraseAsync(string entityId, CancellationToken cancellationToken = default)
    {
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new ArgumentException(problem, nameof(entityId));
        ObjectDisposedException.ThrowIf(_disposed, this);
        var requestId = NewRequestId();
        var reply = await Answer(Connection.ListenAsync(requestId, new EraseEntity(requestId, entityId, _options.ApiToken), _options.Timeout),
            $"the erase of entity {entityId}", cancellationToken);
        return reply switch
        {
            EraseResult { Succeeded: true } erased => erased,
            EraseResult { Status: 503 } failed => throw new ClusterUnreachableException(failed.Reason ?? "the erase did not complete; run it again"),
            EraseResult refused => throw new EventClusterRejectedException($"erase of {entityId} refused ({refused.Status}): {refused.Reason}",
                refused.Reason ?? $"refused ({refused.Status})"),
            _ => throw Unexpected(reply),
        };
    }

    /// <summary>Every consumer group with its position and lag, and the journal's head position.</summary>
    /// <exception cref="EventClusterRejectedException">The node refused the request.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal could not be read.</exception>
    public async Task<GroupsResult> GroupsAsync(CancellationToken cancellationToken = default)
    {
        var requestId = NewRequestId();
        var reply = await Answer(Connection.ListenAsync(requestId, new GetGroups(requestId), _options.Timeout), "the groups", cancellationToken);
        return reply switch
        {
            GroupList list => new GroupsResult(list.Head, list.Groups),
            EventLogRequestRefused { Retryable: true } refused => throw new ClusterUnreachableException($"refused: {refused.Reason}"),
            EventLogRequestRefused refused => throw new EventClusterRejectedException($"refused: {refused.Reason}", refused.Reason),
            _ => throw Unexpected(reply),
        };
    }

    /// <summary>
    /// Adds a webhook subscription: the cluster POSTs every matching event to <paramref name="url"/>,
    /// at least once and in version order per entity, from <see cref="WebhookOptions.From"/> on.
    /// Returns the subscription as stored (without its secret).
    /// </summary>
    /// <exception cref="ArgumentException">The name, URL or an option breaks a rule; nothing was sent.</exception>
    /// <exception cref="WebhookRefusedException">The cluster refused it: 409 when the name is taken, 400 when the cluster does not allow the URL's host, 401 without the nodes' token.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal database could not be reached.</exception>
    public async Task<WebhookInfo> AddWebhookAsync(string name, string url, WebhookOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new WebhookOptions();
        var definition = options.Define(name, url);
        var requestId = NewRequestId();
        var answer = await WebhookRequestAsync(requestId, new AddWebhook(requestId, definition, options.From, _options.ApiToken), cancellationToken);
        return answer.Webhooks[0];
    }

    /// <summary>Every webhook subscription with its position, lag and delivery counts.</summary>
    /// <exception cref="WebhookRefusedException">The cluster refused it (401 without the nodes' token).</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal database could not be reached.</exception>
    public async Task<IReadOnlyList<WebhookInfo>> WebhooksAsync(CancellationToken cancellationToken = default)
    {
        var requestId = NewRequestId();
        return (await WebhookRequestAsync(requestId, new GetWebhooks(requestId, null, _options.ApiToken), cancellationToken)).Webhooks;
    }

    /// <summary>One webhook subscription with its parked events.</summary>
    /// <exception cref="ArgumentException">The name breaks a rule; nothing was sent.</exception>
    /// <exception cref="WebhookRefusedException">404 when there is no such subscription; 401 without the nodes' token.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal database could not be reached.</exception>
    public async Task<WebhookDetails> WebhookAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckWebhookName(name);
        var requestId = NewRequestId();
        var answer = await WebhookRequestAsync(requestId, new GetWebhooks(requestId, name, _options.ApiToken), cancellationToken);
        return new WebhookDetails(answer.Webhooks[0], answer.Parked);
    }

    /// <summary>Removes a webhook subscription and its parked events; its deliveries stop.</summary>
    /// <exception cref="ArgumentException">The name breaks a rule; nothing was sent.</exception>
    /// <exception cref="WebhookRefusedException">404 when there is no such subscription; 401 without the nodes' token.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal database could not be reached.</exception>
    public async Task RemoveWebhookAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckWebhookName(name);
        var requestId = NewRequestId();
        await WebhookRequestAsync(requestId, new RemoveWebhook(requestId, name, _options.ApiToken), cancellationToken);
    }

    /// <summary>
    /// Delivers a subscription's parked events again, in position order; returns once the
    /// cluster started, with its account of what it started (how many events).
    /// </summary>
    /// <exception cref="ArgumentException">The name breaks a rule; nothing was sent.</exception>
    /// <exception cref="WebhookRefusedException">404 when there is no such subscription; 401 without the nodes' token.</exception>
    /// <exception cref="ClusterUnreachableException">No node answered in time, or the journal database could not be reached.</exception>
    public async Task<string> ReplayParkedAsync(string name, CancellationToken cancellationToken = default)
    {
        CheckWebhookName(name);
        var requestId = NewRequestId();
        var answer = await WebhookRequestAsync(requestId, new ReplayParked(requestId, name, _options.ApiToken), cancellationToken);
        return answer.Reason ?? $"replaying the parked events of {name}";
    }

    /// <summary>Closes the connection; calls after this throw <see cref="ObjectDisposedException"/>, and running subscriptions end with it.</summary>
    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return Connection.DisposeAsync();
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private bool _disposed;

    private async Task<object> Answer(Task<object> request, string what, CancellationToken cancellationToken)
    {
        try
        {
            return await request.WaitAsync(cancellationToken);
        }
        catch (TimeoutException)
        {
            throw ConnectionErrors.NoAnswer(Seeds, _options.Timeout, what);
        }
    }

    private async Task<WebhookAnswer> WebhookRequestAsync(string requestId, IEventClusterMessage request, CancellationToken cancellationToken)
    {
        var reply = await Answer(Connection.ListenAsync(requestId, request, _options.Timeout), "the webhook request", cancellationToken);
        return reply switch
        {
            WebhookAnswer { Status: >= 200 and < 300 } answer => answer,
            WebhookAnswer { Status: 503 } answer => throw new ClusterUnreachableException(answer.Reason ?? "the cluster could not do it now (503)"),
            WebhookAnswer answer => throw new WebhookRefusedException(answer.Status, answer.Reason ?? $"refused ({answer.Status})"),
            _ => throw Unexpected(reply),
        };
    }

    private static void CheckWebhookName(string name)
    {
        if (EventValidation.CheckName("subscription name", name) is { } problem)
            throw new ArgumentException(problem);
    }

    private static string NewRequestId() => Guid.NewGuid().ToString("N");

    private static InvalidOperationException Unexpected(object reply) => new($"unexpected reply {reply.GetType().Name}");
}
