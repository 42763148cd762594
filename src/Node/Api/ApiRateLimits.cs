using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;

namespace EventCluster.Node.Api;

/// <summary>What a rate limit counts: writes, or streams opened.</summary>
public enum RateLimitKind
{
    /// <summary>Not limited.</summary>
    None,

    /// <summary>A <c>POST</c>, <c>PUT</c>, <c>PATCH</c> or <c>DELETE</c> under <c>/api</c>; a batch counts as one.</summary>
    Writes,

    /// <summary>Opening the event stream, or asking for a stream ticket.</summary>
    Streams,
}

/// <summary>Marks an endpoint whose requests count as opening a stream rather than as writes.</summary>
public sealed record CountsAsStreamOpen;

/// <summary>
/// Per-client rate limits on <c>/api</c> writes and on opening streams: a token bucket per token
/// name when the node has tokens, per client address without them, each refilled every second
/// with the configured rate and holding at most one second's worth (so a client may burst that
/// much). Past it a request gets 429 with <c>Retry-After</c>. The limits are per node: a client
/// spreading its requests over three nodes gets three times the rate.
/// </summary>
public static class ApiRateLimits
{
    /// <summary>Marks an endpoint whose requests count against the stream limit.</summary>
    public static TBuilder CountAsStreamOpen<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new CountsAsStreamOpen());

    /// <summary>What the request counts against, from its endpoint and method.</summary>
    public static RateLimitKind KindOf(string path, string method, EndpointMetadataCollection? metadata)
    {
        if (!path.StartsWith("/api/", StringComparison.Ordinal) && path != "/api")
            return RateLimitKind.None;
        if (metadata?.GetMetadata<CountsAsStreamOpen>() is not null)
            return RateLimitKind.Streams;
        return HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method)
            ? RateLimitKind.Writes
            : RateLimitKind.None;
    }

    /// <summary>
    /// The global limiter: one token bucket per (kind, client). It runs before the endpoints' own
    /// policies (the stream endpoint's concurrency limit), after the access check, which has set
    /// the caller's token name as the request's user.
    /// </summary>
    public static PartitionedRateLimiter<HttpContext> Create(ApiOptions options) =>
        PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            var kind = KindOf(http.Request.Path.Value ?? "", http.Request.Method, http.GetEndpoint()?.Metadata);
            var perSecond = kind switch
            {
                RateLimitKind.Writes => options.WritesPerSecond,
                RateLimitKind.Streams => options.StreamsPerSecond,
                _ => 0,
            };
            if (perSecond <= 0)
                return RateLimitPartition.GetNoLimiter("unlimited");
            return RateLimitPartition.GetTokenBucketLimiter($"{kind}/{ClientOf(http, options)}", _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perSecond,
                TokensPerPeriod = perSecond,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        });

    /// <summary>
    /// Whom a request is counted for: its token's name when the node has tokens (the access check
    /// has refused it otherwise), else the address it comes from. Behind a proxy every client has
    /// the proxy's address.
    /// </summary>
    public static string ClientOf(HttpContext http, ApiOptions options) =>
        options.Tokens.Required && http.User.FindFirst(ClaimTypes.Name)?.Value is { } name
            ? $"token {name}"
            : $"address {(http.Connection.RemoteIpAddress is { IsIPv4MappedToIPv6: true } mapped ? mapped.MapToIPv4() : http.Connection.RemoteIpAddress)}";

    /// <summary>
    /// The answer to a refused request: 429 with <c>Retry-After</c> from the token bucket, or
    /// the stream endpoint's 503 when its concurrency limit refused it (that lease says no retry time).
    /// The 429 is answered once the retry time has passed (at most a second), as long as fewer than
    /// <see cref="RefusalPacer.MaxHeld"/> refusals are being held on the node: a client that ignores
    /// <c>Retry-After</c> and keeps its requests in flight then sends a few hundred a second rather
    /// than tens of thousands, and the node spends its CPU on other clients rather than on refusals.
    /// </summary>
    public static async ValueTask OnRejected(OnRejectedContext context, ApiOptions options, RefusalPacer pacer)
    {
        var http = context.HttpContext;
        if (!context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
        {
            await ApiResults.Unavailable(http, $"this node serves {options.MaxStreams} streams at most (--max-streams); retry later or on another node",
                "too many streams", retryAfterSeconds: 5).ExecuteAsync(http);
            return;
        }

        var kind = KindOf(http.Request.Path.Value ?? "", http.Request.Method, http.GetEndpoint()?.Metadata);
        var (limit, option, what) = kind == RateLimitKind.Streams
            ? (options.StreamsPerSecond, "--rate-limit-streams", "streams opened")
            : (options.WritesPerSecond, "--rate-limit-writes", "writes");
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        if (!await pacer.HoldAsync(retryAfter < RefusalPacer.LongestHold ? retryAfter : RefusalPacer.LongestHold, http.RequestAborted))
            return;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await ApiResults.Problem(StatusCodes.Status429TooManyRequests, "rate limit exceeded",
            $"{ClientOf(http, options)} is past this node's limit of {limit} {what} per second " +
            $"({option}); retry after {seconds} s").ExecuteAsync(http);
    }

    /// <summary>Adds a 429 problem to each operation the limits apply to, in the OpenAPI document.</summary>
    public static OpenApiOptions DescribeRateLimits(this OpenApiOptions openApi) =>
        openApi.AddOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var description = context.Description;
            var metadata = new EndpointMetadataCollection(description.ActionDescriptor.EndpointMetadata);
            if (KindOf("/" + (description.RelativePath ?? ""), description.HttpMethod ?? "GET", metadata) == RateLimitKind.None)
                return;
            operation.Responses ??= [];
            operation.Responses["429"] = new Microsoft.OpenApi.OpenApiResponse
            {
                Description = "Past this client's rate limit on this node: retry after the Retry-After header's seconds",
                Content = new Dictionary<string, Microsoft.OpenApi.OpenApiMediaType>
                {
                    ["application/problem+json"] = new()
                    {
                        Schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken),
                    },
                },
            };
        });
}

/// <summary>Holds refused requests back before their 429, a bounded number at once (one per node, from DI).</summary>
public sealed class RefusalPacer
{
    /// <summary>Refusals held at once on the node; beyond, a refusal is answered at once.</summary>
    public const int MaxHeld = 1024;

    /// <summary>The longest a refusal is held.</summary>
    public static readonly TimeSpan LongestHold = TimeSpan.FromSeconds(1);

    private int _held;

    /// <summary>Waits <paramref name="delay"/> when a place is free; false when the client went away meanwhile.</summary>
    public async Task<bool> HoldAsync(TimeSpan delay, CancellationToken aborted)
    {
        if (Interlocked.Increment(ref _held) > MaxHeld || delay <= TimeSpan.Zero)
        {
            Interlocked.Decrement(ref _held);
            return true;
        }

        try
        {
            await Task.Delay(delay, aborted);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }
    }
}
