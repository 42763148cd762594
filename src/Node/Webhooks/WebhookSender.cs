using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace EventCluster.Node.Webhooks;

/// <summary>What became of one event: confirmed, or to be parked with its last error, after so many attempts.</summary>
/// <param name="Confirmed">True when the receiver answered 2xx.</param>
/// <param name="Error">The last attempt's error when not confirmed.</param>
/// <param name="Attempts">Attempts made.</param>
public sealed record SendResult(bool Confirmed, string? Error, int Attempts);

/// <summary>
/// Sends one subscription's events to its URL: a POST per attempt through the node's named
/// <see cref="HttpClient"/>, retried by a Polly pipeline until the receiver confirms with a 2xx
/// or the event must be parked.
/// </summary>
/// <remarks>
/// A time-out, a connection error, a 5xx, a 408 or a 429 is retried, after the answer's
/// <c>Retry-After</c> (up to 5 minutes) or an exponential back-off with jitter from 0.5 s up to
/// 60 s; any other answer, or the last of <see cref="WebhookDefinition.MaxAttempts"/> attempts,
/// is final, and so is a connection the address policy refuses. Redirects are not followed (the
/// client's handler is set so).
/// </remarks>
public sealed class WebhookSender
{
    /// <summary>The name of the <see cref="HttpClient"/> deliveries use.</summary>
    public const string HttpClientName = "eventcluster-webhooks";

    /// <summary>The median delay before the first retry; it doubles with each retry.</summary>
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest back-off between attempts.</summary>
    public static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(60);

    /// <summary>The longest <c>Retry-After</c> honoured.</summary>
    public static readonly TimeSpan LongestRetryAfter = TimeSpan.FromMinutes(5);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private static readonly ResiliencePropertyKey<EventRecord> RecordKey = new("eventcluster.webhook.record");

    private readonly WebhookDefinition _definition;
    private readonly IHttpClientFactory _clients;
    private readonly WebhookOptions _options;
    private readonly WebhookProgress _progress;
    private readonly ResiliencePipeline<Attempt> _pipeline;

    /// <summary>Prepares the sender of <paramref name="definition"/>; attempts and retries are counted in <paramref name="progress"/>.</summary>
    public WebhookSender(WebhookDefinition definition, IHttpClientFactory clients, WebhookOptions options, WebhookProgress progress)
    {
        _definition = definition;
        _clients = clients;
        _options = options;
        _progress = progress;
        var pipeline = new ResiliencePipelineBuilder<Attempt>();
        if (definition.MaxAttempts > 1)
            pipeline.AddRetry(new RetryStrategyOptions<Attempt>
            {
                MaxRetryAttempts = definition.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = FirstRetry,
                MaxDelay = LongestRetry,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Result: { } attempt } => attempt.Retryable,
                    { Exception: TimeoutRejectedException or HttpRequestException } => true,
                    _ => false,
                }),
                // Polly applies MaxDelay to its own back-off only: a longer Retry-After is honoured.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
                OnRetry = args =>
                {
                    _progress.Retried(LastError(args.Context.Properties.GetValue(RecordKey, null!), Describe(args.Outcome)));
                    return ValueTask.CompletedTask;
                },
            });
        _pipeline = pipeline.AddTimeout(options.AttemptTimeout).Build();
    }

    /// <summary>The header of an erased record's delivery: <c>entity</c> (an erase notice) or <c>event</c> (a tombstone).</summary>
    public const string ErasedHeader = "EventCluster-Erased";

    /// <summary>Attempts <paramref name="record"/> until it is confirmed or must be parked; throws only when <paramref name="stop"/> is cancelled.</summary>
    public async Task<SendResult> SendAsync(EventRecord record, CancellationToken stop)
    {
        if (!Uri.TryCreate(_definition.Url, UriKind.Absolute, out var url))
            return Failed(record, $"{_definition.Url} is not an absolute URL", 1);
        var body = JsonSerializer.SerializeToUtf8Bytes(record, Json);
        var request = new Request(this, url, record, body);
        var context = ResilienceContextPool.Shared.Get(stop);
        context.Properties.Set(RecordKey, record);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(static async (attemptContext, state) =>
            {
                state.Attempts++;
                return Outcome.FromResult(await state.Sender.PostAsync(state, attemptContext.CancellationToken));
            }, context, request);
            stop.ThrowIfCancellationRequested();
            if (outcome.Result is { Confirmed: true })
            {
                _progress.Confirmed();
                return new SendResult(true, null, request.Attempts);
            }

            return Failed(record, Describe(outcome), request.Attempts);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The signature header's value: <c>sha256=</c> and the hex HMAC-SHA256 of the body keyed with the secret.</summary>
    public static string Signature(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private SendResult Failed(EventRecord record, string error, int attempts)
    {
        _progress.Failed(LastError(record, error));
        return new SendResult(false, error, attempts);
    }

    private static string LastError(EventRecord record, string error) => $"{record.EntityId} v{record.Version} (position {record.Position}): {error}";

    /// <summary>One POST; a connection error is an attempt to retry, a time-out is the pipeline's.</summary>
    private async Task<Attempt> PostAsync(Request attempt, CancellationToken cancel)
    {
        var record = attempt.Record;
        using var request = new HttpRequestMessage(HttpMethod.Post, attempt.Url) { Content = new ByteArrayContent(attempt.Body) };
        request.Content.Headers.ContentType = JsonContentType;
        if (record.EventId.Length > 0)
            request.Headers.Add("EventCluster-Event-Id", record.EventId);
        // An erased record says so in a header too: "entity" for the notice that an entity was
        // erased, "event" for the tombstone of an event a lagging subscription had not delivered.
        if (record.Erased)
            request.Headers.Add(ErasedHeader, record.Type == EventRecord.EntityErasedType ? "entity" : "event");
        request.Headers.Add("EventCluster-Position", record.Position.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("EventCluster-Subscription", _definition.Name);
        if (_definition.Secret is { } secret)
            request.Headers.Add("EventCluster-Signature", Signature(secret, attempt.Body));
        try
        {
            // Clients of the factory are cheap; a fresh one per attempt picks up the factory's
            // rotated handler (and so DNS changes) without giving up pooled connections.
            using var response = await _clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300)
                return new Attempt(true, false, null, null);
            var retryable = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            TimeSpan? retryAfter = response.Headers.RetryAfter switch
            {
                { Delta: { } delta } => delta,
                { Date: { } date } => date - DateTimeOffset.UtcNow,
                _ => null,
            };
            if (retryAfter is { } wait)
                retryAfter = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > LongestRetryAfter ? LongestRetryAfter : wait;
            return new Attempt(false, retryable, $"HTTP {status} {response.ReasonPhrase}".TrimEnd(), retryAfter);
        }
        catch (HttpRequestException ex) when (ex.GetBaseException() is WebhookAddressRefusedException refused)
        {
            // The rules will not change before the next attempt: park at once, with the reason.
            return new Attempt(false, false, refused.Message, null);
        }
        catch (HttpRequestException ex)
        {
            return new Attempt(false, true, $"connection failed: {ex.GetBaseException().Message}", null);
        }
    }

    private string Describe(Outcome<Attempt> outcome) => outcome switch
    {
        { Result: { Error: { } error } } => error,
        { Exception: TimeoutRejectedException } => string.Create(CultureInfo.InvariantCulture, $"no answer within {_options.AttemptTimeout.TotalSeconds:0.###} s"),
        { Exception: { } ex } => ex.GetBaseException().Message,
        _ => "no answer",
    };

    /// <summary>One attempt's answer: confirmed, worth retrying, its error, the answer's Retry-After.</summary>
    private sealed record Attempt(bool Confirmed, bool Retryable, string? Error, TimeSpan? RetryAfter);

    /// <summary>One event's request, built once for all its attempts; counts the attempts.</summary>
    private sealed class Request(WebhookSender sender, Uri url, EventRecord record, byte[] body)
    {
        public WebhookSender Sender { get; } = sender;

        public Uri Url { get; } = url;

        public EventRecord Record { get; } = record;

        public byte[] Body { get; } = body;

        public int Attempts { get; set; }
    }
}
