using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Journal;
using EventCluster.Node.Subscriptions;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// Delivers one webhook subscription: reads the matching events after its stored position from
/// the node's event-log reader and POSTs each to its URL, one at a time per entity (version
/// order) and up to <see cref="WebhookDefinition.Concurrency"/> entities in parallel.
/// </summary>
/// <remarks>
/// <para>A 2xx confirms an event. A time-out (10 s), a connection error, a 5xx, a 408 or a 429
/// is retried after 0.5 s, doubling up to 60 s, with ±20 % jitter, or after the answer's
/// <c>Retry-After</c>. Any other answer, or the last of <see cref="WebhookDefinition.MaxAttempts"/>
/// attempts, parks the event (kept with its error, replayable) and delivery goes on.</para>
/// <para>The stored position only moves to a point below which every event was delivered or
/// parked, once a second; a runner that stops (a crash, a leave) leaves the rest to the next
/// one, which delivers again what was not confirmed: at least once.</para>
/// </remarks>
public sealed class WebhookDelivery
{
    /// <summary>How long one attempt may take.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The first retry's delay.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between attempts.</summary>
    public static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(60);

    /// <summary>Events read ahead of the stored position at most.</summary>
    private const int MaxBuffered = 5000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly WebhookDefinition _definition;
    private readonly long _generation;
    private readonly IActorRef _eventLog;
    private readonly EventLog _reader;
    private readonly JournalDatabase _database;
    private readonly HttpClient _http;
    private readonly string _runner;
    private readonly ILoggingAdapter _log;
    private readonly IReadOnlySet<string>? _allowedHosts;
    private readonly EventFilter _filter;
    private readonly Lock _gate = new();
    private readonly SortedSet<long> _pending = [];
    private readonly Dictionary<string, Queue<EventRecord>> _queues = new(StringComparer.Ordinal);
    private readonly Queue<string> _ready = new();
    private readonly HashSet<string> _active = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _progress = new(0);
    private long _readCursor;
    private long _stored;
    private long _delivered;
    private long _retries;
    private string? _lastError;
    private bool _countersChanged;
    private bool _runnerShown;
    private CancellationToken _stop;

    /// <summary>Prepares delivery from the subscription's stored state.</summary>
    public WebhookDelivery(WebhookRow row, IActorRef eventLog, EventLog reader, JournalDatabase database, HttpClient http, string runner,
        IReadOnlySet<string>? allowedHosts, ILoggingAdapter log)
    {
        _definition = row.Definition;
        _generation = row.Generation;
        _eventLog = eventLog;
        _reader = reader;
        _database = database;
        _http = http;
        _runner = runner;
        _allowedHosts = allowedHosts;
        _log = log;
        _filter = new EventFilter(row.Definition.Types, null, row.Definition.EntityPrefix);
        _readCursor = _stored = row.Position;
        _delivered = row.Delivered;
        _retries = row.Retries;
        _lastError = row.LastError;
    }

    /// <summary>Raised when the subscription turns out to be removed.</summary>
    public event Action? Removed;

    /// <summary>Delivers until <paramref name="stop"/>; the position is stored every second and when it stops.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        _stop = stop;
        var checkpoints = CheckpointEverySecondAsync(stop);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await ReadAsync(stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopping: what is not confirmed is delivered again by the next runner.
            }
            catch (Exception ex)
            {
                _log.Warning("Webhook {0}: reading events failed, trying again: {1}", _definition.Name, ex.GetBaseException().Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stop);
                }
                catch (OperationCanceledException)
                {
                    // Stopping.
                }
            }
        }

        await checkpoints;
    }

    /// <summary>Stores the position reached and the counters.</summary>
    public async Task CheckpointAsync()
    {
        long safe, delivered, retries;
        string? lastError;
        lock (_gate)
        {
            safe = _pending.Count == 0 ? _readCursor : _pending.Min - 1;
            // The first checkpoint of a runner always writes: the subscription shows its new
            // runner at once, even when there is nothing to deliver.
            if (safe <= _stored && !_countersChanged && _runnerShown)
                return;
            (delivered, retries, lastError) = (_delivered, _retries, _lastError);
            _countersChanged = false;
        }

        bool exists;
        try
        {
            exists = await _database.Readers.RunAsync(store =>
                WebhookStore.Checkpoint(store, _definition.Name, _generation, Math.Max(safe, _stored), delivered, retries, lastError, _runner));
        }
        catch
        {
            lock (_gate)
                _countersChanged = true;
            throw;
        }

        lock (_gate)
            _stored = Math.Max(_stored, safe);
        _runnerShown = true;
        if (!exists)
            Removed?.Invoke();
    }

    /// <summary>Delivers the subscription's parked events again, in position order; those delivered leave the parked list.</summary>
    public async Task ReplayParkedAsync(CancellationToken stop)
    {
        var parked = await _database.Readers.RunAsync(store => WebhookStore.Parked(store, _definition.Name));
        _log.Info("Webhook {0}: replaying {1} parked events", _definition.Name, parked.Count);
        foreach (var entry in parked)
        {
            stop.ThrowIfCancellationRequested();
            var record = await _reader.ReadEventAsync(entry.EntityId, entry.Version);
            if (record is null)
                continue;
            var (delivered, error, attempts) = await DeliverAsync(record, stop);
            if (delivered)
                await _database.Readers.RunAsync(store =>
                {
                    WebhookStore.Unpark(store, _definition.Name, entry.Position);
                    return true;
                });
            else
                await _database.Readers.RunAsync(store =>
                {
                    WebhookStore.Park(store, _definition.Name, _generation, entry with { Attempts = entry.Attempts + attempts, LastError = error!, ParkedAt = DateTimeOffset.UtcNow });
                    return true;
                });
        }
    }

    private async Task CheckpointEverySecondAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
                await TryCheckpointAsync();
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        await TryCheckpointAsync();
    }

    private async Task TryCheckpointAsync()
    {
        try
        {
            await CheckpointAsync();
        }
        catch (Exception ex)
        {
            _log.Warning("Webhook {0}: could not store its position: {1}", _definition.Name, ex.GetBaseException().Message);
        }
    }

    private async Task ReadAsync(CancellationToken stop)
    {
        var caughtUp = false;
        while (!stop.IsCancellationRequested)
        {
            int buffered;
            lock (_gate)
                buffered = _pending.Count;
            if (buffered >= MaxBuffered)
            {
                await _progress.WaitAsync(TimeSpan.FromSeconds(1), stop);
                continue;
            }

            long after;
            lock (_gate)
                after = _readCursor;
            var requestId = Guid.NewGuid().ToString("N");
            object reply;
            try
            {
                reply = await _eventLog.Ask<object>(new ReadEventLog(requestId, after, _filter, ReadEventLog.MaxPage, caughtUp ? 3000 : 0),
                    TimeSpan.FromSeconds(15), stop);
            }
            catch (AskTimeoutException)
            {
                continue;
            }

            if (reply is not EventLogPage page)
            {
                if (reply is EventLogRequestRefused refused)
                    _log.Warning("Webhook {0}: reading the event log failed: {1}", _definition.Name, refused.Reason);
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
                continue;
            }

            lock (_gate)
            {
                foreach (var record in page.Events)
                {
                    if (record.Position <= _readCursor)
                        continue;
                    _pending.Add(record.Position);
                    if (!_queues.TryGetValue(record.EntityId, out var queue))
                    {
                        _queues[record.EntityId] = queue = new Queue<EventRecord>();
                        if (!_active.Contains(record.EntityId))
                            _ready.Enqueue(record.EntityId);
                    }

                    queue.Enqueue(record);
                    _readCursor = record.Position;
                }

                _readCursor = Math.Max(_readCursor, page.Through);
                Dispatch();
            }

            caughtUp = page.CaughtUp;
        }
    }

    /// <summary>Starts a worker for each entity waiting, up to the concurrency. Called under the lock.</summary>
    private void Dispatch()
    {
        while (_active.Count < _definition.Concurrency && _ready.TryDequeue(out var entity))
        {
            _active.Add(entity);
            _ = Task.Run(() => WorkAsync(entity));
        }
    }

    /// <summary>Delivers an entity's queued events one after another, in version order.</summary>
    private async Task WorkAsync(string entity)
    {
        while (true)
        {
            EventRecord record;
            lock (_gate)
            {
                if (_stop.IsCancellationRequested || !_queues.TryGetValue(entity, out var queue) || !queue.TryDequeue(out record!))
                {
                    _queues.Remove(entity);
                    _active.Remove(entity);
                    Dispatch();
                    return;
                }
            }

            try
            {
                var (delivered, error, attempts) = await DeliverAsync(record, _stop);
                if (!delivered)
                {
                    var parked = new ParkedEvent(record.Position, record.EntityId, record.Version, record.EventId, attempts, error!, DateTimeOffset.UtcNow);
                    await _database.Readers.RunAsync(store =>
                    {
                        WebhookStore.Park(store, _definition.Name, _generation, parked);
                        return true;
                    });
                    _log.Warning("Webhook {0}: parked {1} v{2} (position {3}) after {4} attempts: {5}", _definition.Name, record.EntityId,
                        record.Version, record.Position, attempts, error);
                }

                lock (_gate)
                    _pending.Remove(record.Position);
                // Wakes the reader if it waits for room; one signal is enough however many wait.
                if (_progress.CurrentCount == 0)
                    _progress.Release();
            }
            catch (Exception ex) when (ex is OperationCanceledException || _stop.IsCancellationRequested)
            {
                lock (_gate)
                {
                    _queues.Remove(entity);
                    _active.Remove(entity);
                }

                return;
            }
            catch (Exception ex)
            {
                // Parking failed (the database is down): the event stays pending, and this
                // entity waits before it tries again, so its order holds.
                _log.Warning("Webhook {0}: could not park {1} v{2}: {3}", _definition.Name, record.EntityId, record.Version, ex.GetBaseException().Message);
                lock (_gate)
                {
                    var queue = _queues.GetValueOrDefault(entity) ?? (_queues[entity] = new Queue<EventRecord>());
                    var rest = queue.ToList();
                    queue.Clear();
                    queue.Enqueue(record);
                    foreach (var next in rest)
                        queue.Enqueue(next);
                }

                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Attempts one event until it is confirmed or must be parked: (delivered, the last error, attempts made).</summary>
    private async Task<(bool Delivered, string? Error, int Attempts)> DeliverAsync(EventRecord record, CancellationToken stop)
    {
        var delay = FirstRetry;
        for (var attempt = 1; ; attempt++)
        {
            var (ok, retryable, error, retryAfter) = await PostAsync(record, stop);
            if (ok)
            {
                lock (_gate)
                {
                    _delivered++;
                    _countersChanged = true;
                }

                return (true, null, attempt);
            }

            lock (_gate)
            {
                _lastError = $"{record.EntityId} v{record.Version} (position {record.Position}): {error}";
                _countersChanged = true;
            }

            if (!retryable || attempt >= _definition.MaxAttempts)
                return (false, error, attempt);
            lock (_gate)
                _retries++;
            var wait = retryAfter ?? TimeSpan.FromMilliseconds(delay.TotalMilliseconds * (0.8 + Random.Shared.NextDouble() * 0.4));
            await Task.Delay(wait, stop);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LongestRetry.Ticks));
        }
    }

    /// <summary>One POST of the event: (confirmed, worth retrying, the error, the answer's Retry-After).</summary>
    private async Task<(bool Ok, bool Retryable, string? Error, TimeSpan? RetryAfter)> PostAsync(EventRecord record, CancellationToken stop)
    {
        if (!Uri.TryCreate(_definition.Url, UriKind.Absolute, out var url) ||
            (_allowedHosts is not null && !_allowedHosts.Contains(url.Host)))
            return (false, false, $"host of {_definition.Url} is not in this node's EVENTCLUSTER_WEBHOOK_ALLOWED_HOSTS", null);
        var body = JsonSerializer.SerializeToUtf8Bytes(record, Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("EventCluster-Event-Id", record.EventId);
        request.Headers.Add("EventCluster-Position", record.Position.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add("EventCluster-Subscription", _definition.Name);
        if (_definition.Secret is { } secret)
            request.Headers.Add("EventCluster-Signature", Signature(secret, body));
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        attempt.CancelAfter(AttemptTimeout);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300)
                return (true, false, null, null);
            var retryable = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            TimeSpan? retryAfter = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } => date - DateTimeOffset.UtcNow,
                _ => null,
            };
            if (retryAfter is { } wait)
                retryAfter = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > TimeSpan.FromMinutes(5) ? TimeSpan.FromMinutes(5) : wait;
            return (false, retryable, $"HTTP {status} {response.ReasonPhrase}".TrimEnd(), retryAfter);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return (false, true, $"no answer within {AttemptTimeout.TotalSeconds:0} s", null);
        }
        catch (HttpRequestException ex)
        {
            return (false, true, $"connection failed: {ex.GetBaseException().Message}", null);
        }
    }

    /// <summary>The signature header's value: <c>sha256=</c> and the hex HMAC-SHA256 of the body keyed with the secret.</summary>
    public static string Signature(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));
}
