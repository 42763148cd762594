using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Validation;
using EventCluster.Node.Hosting;
using EventCluster.Node.Ingress;

namespace EventCluster.Node.Api;

/// <summary>
/// <c>POST /api/events</c> and <c>GET /api/entities/{id}</c>: the client's send and get over
/// HTTP, with the same rules and the same JSON. Everything goes through the node's ingress, so
/// nothing invalid reaches an entity.
/// </summary>
public static partial class EventEndpoints
{
    /// <summary>Largest request body accepted by <c>POST /api/events</c>.</summary>
    public const int MaxBodyBytes = EventValidation.MaxDataBytes;

    /// <summary>How long a request waits for the cluster before it gets 503.</summary>
    public static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(10);

    private static readonly JsonSerializerOptions RequestOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        PropertyNameCaseInsensitive = false,
    };

    /// <summary>The body of <c>POST /api/events</c>; any other field is refused.</summary>
    /// <param name="EntityId">The entity.</param>
    /// <param name="EventId">The event's id; generated when left out. Repeat it to retry safely.</param>
    /// <param name="Type">The event type.</param>
    /// <param name="Data">A JSON object; {} when left out.</param>
    public sealed record EventRequest(string? EntityId, string? EventId, string? Type, JsonElement? Data);

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication MapEventEndpoints(this WebApplication app)
    {
        app.MapPost("/api/events", SubmitAsync);
        app.MapGet("/api/entities/{id}", GetStateAsync);
        return app;
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, ActorRegistry registry, NodeSettings settings, ActorSystem system)
    {
        var metrics = NodeMetrics.Of(system);
        if (!Authorized(http, settings.ApiToken))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Problem(StatusCodes.Status401Unauthorized, "a bearer token is required",
                "this node requires 'Authorization: Bearer <token>' on write endpoints (EVENTCLUSTER_API_TOKEN)");
        }

        if (!http.Request.HasJsonContentType())
        {
            metrics.EventRejected();
            return Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported media type",
                $"the body of POST /api/events must be JSON sent as 'Content-Type: application/json', not '{http.Request.ContentType ?? "none"}'");
        }

        var body = await ReadBodyAsync(http.Request);
        if (body is null)
            return Problem(StatusCodes.Status413PayloadTooLarge, "request body too large",
                $"the body of POST /api/events may hold at most {MaxBodyBytes} bytes");

        EventRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<EventRequest>(body, RequestOptions);
        }
        catch (JsonException ex)
        {
            metrics.EventRejected();
            return Problem(StatusCodes.Status400BadRequest, "malformed event",
                $"the body must be a JSON object with entityId, type, and optionally eventId and data: {Describe(ex)}");
        }

        if (request is null)
        {
            metrics.EventRejected();
            return Problem(StatusCodes.Status400BadRequest, "malformed event", "the body must be a JSON object, not null");
        }

        var data = request.Data is { } element ? element.GetRawText() : "{}";
        var command = new SubmitEvent(request.EntityId!, request.EventId ?? Guid.NewGuid().ToString("N"), request.Type!, data);
        if (EventValidation.Check(command) is { } problem)
        {
            metrics.EventRejected();
            return Problem(StatusCodes.Status400BadRequest, "invalid event", problem);
        }

        var reply = await AskIngressAsync(registry, command);
        return reply switch
        {
            EventAccepted accepted => Results.Json(accepted),
            EventRejected rejected => Problem(StatusCodes.Status400BadRequest, "event rejected", rejected.Reason),
            EventNotStored notStored => Unavailable(http, $"{notStored.Reason}; retry with the same eventId (a repeat of a stored event is recognised as a duplicate)"),
            null => Unavailable(http, $"the cluster did not acknowledge event {command.EventId} within {ClusterTimeout.TotalSeconds:0}s; " +
                "retry with the same eventId (a repeat is recognised as a duplicate)"),
            _ => Problem(StatusCodes.Status500InternalServerError, "unexpected reply", reply.GetType().Name),
        };
    }

    private static async Task<IResult> GetStateAsync(string id, HttpContext http, ActorRegistry registry)
    {
        if (EventValidation.CheckEntityId(id) is { } problem)
            return Problem(StatusCodes.Status400BadRequest, "invalid entity id", problem);
        var reply = await AskIngressAsync(registry, new GetEntityState(id));
        return reply switch
        {
            EntityStateResult { Exists: false } => Problem(StatusCodes.Status404NotFound, "no such entity",
                $"entity {id} has not applied any event"),
            EntityStateResult state => Results.Json(state.ToJson()),
            QueryRejected rejected => Problem(StatusCodes.Status400BadRequest, "query rejected", rejected.Reason),
            null => Unavailable(http, $"the cluster did not answer for entity {id} within {ClusterTimeout.TotalSeconds:0}s"),
            _ => Problem(StatusCodes.Status500InternalServerError, "unexpected reply", reply.GetType().Name),
        };
    }

    /// <summary>Asks the ingress; null when no answer came in time (or the node is not ready).</summary>
    private static async Task<object?> AskIngressAsync(ActorRegistry registry, object message)
    {
        if (!registry.TryGet<IngressActor>(out var ingress))
            return null;
        try
        {
            return await ingress.Ask<object>(message, ClusterTimeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    /// <summary>The request body, or null when it is longer than <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
            return null;
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
                return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>True when no token is configured, or the request carries it (compared in constant time).</summary>
    private static bool Authorized(HttpContext http, string? token)
    {
        if (token is null)
            return true;
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        // Hashing first gives both sides the same length, so the comparison time says nothing about the token.
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim()));
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }

    /// <summary>
    /// What is wrong with the body and where, in the request's own terms: the parser's messages
    /// name .NET types, which mean nothing to a client and say too much about the node.
    /// </summary>
    internal static string Describe(JsonException ex)
    {
        var where = $"at {ex.Path ?? "$"} (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})";
        if (ex.InnerException is InvalidOperationException inner && inner.Message.Contains("UTF-8", StringComparison.OrdinalIgnoreCase))
            return $"the text is not valid UTF-8 {where}";
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
            return $"unknown field {where}; the fields are entityId, type, eventId and data";
        if (ex.Message.Contains("could not be converted", StringComparison.Ordinal))
            return $"wrong kind of value {where}: entityId, type and eventId are strings, data is an object";
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
            message = message[..cut];
        message = DotNetNames().Replace(message, "the expected value");
        return $"{message.TrimEnd('.', ' ')} {where}";
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(type '[^']*')|\b(System|EventCluster|Microsoft)\.[\w.+`\[\],]+")]
    private static partial System.Text.RegularExpressions.Regex DotNetNames();

    private static IResult Unavailable(HttpContext http, string detail)
    {
        http.Response.Headers.RetryAfter = "1";
        return Problem(StatusCodes.Status503ServiceUnavailable, "cluster unavailable", detail);
    }

    private static IResult Problem(int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title);
}
