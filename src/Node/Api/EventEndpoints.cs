using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Validation;
using EventCluster.Node.Ingress;
using EventCluster.Node.Security;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Api;

/// <summary>
/// <c>POST /api/events</c> and <c>GET /api/entities/{id}</c>: the client's send and get over
/// HTTP, with the same rules and the same JSON. Everything goes through the node's ingress, so
/// nothing invalid reaches an entity.
/// </summary>
public static class EventEndpoints
{
    /// <summary>Largest request body accepted by <c>POST /api/events</c>.</summary>
    public const int MaxBodyBytes = EventValidation.MaxDataBytes;

    /// <summary>How long a request waits for the cluster before it gets 503.</summary>
    public static readonly TimeSpan ClusterTimeout = TimeSpan.FromSeconds(10);

    internal static readonly JsonSerializerOptions RequestOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        PropertyNameCaseInsensitive = false,
    };

    /// <summary>The body of <c>POST /api/events</c>; any other field is refused.</summary>
    /// <param name="EntityId">The entity.</param>
    /// <param name="Type">The event type.</param>
    /// <param name="EventId">The event's id; generated when left out. Repeat it to retry safely.</param>
    /// <param name="Data">A JSON object; {} when left out.</param>
    public sealed record EventRequest(string? EntityId, string? Type, string? EventId = null, JsonElement? Data = null);

    /// <summary>An entity's state as <c>GET /api/entities/{id}</c> answers it (the fields of <c>get --json</c>).</summary>
    /// <param name="EntityId">The entity.</param>
    /// <param name="Version">Its version: the journal sequence number of its last event.</param>
    /// <param name="EventCount">Events it applied.</param>
    /// <param name="CountsByType">Events it applied per type.</param>
    /// <param name="LastEventId">Id of its last event.</param>
    /// <param name="LastEventType">Type of its last event.</param>
    /// <param name="LastEventAt">When it applied its last event.</param>
    /// <param name="Data">RFC 7386 JSON merge-patch of every payload, in order.</param>
    /// <param name="Node">The node that answered.</param>
    public sealed record EntityState(string EntityId, long Version, long EventCount, IReadOnlyDictionary<string, long> CountsByType,
        string? LastEventId, string? LastEventType, DateTimeOffset? LastEventAt, [property: RawJson] string Data, string Node)
    {
        /// <summary>The answer for an entity's state.</summary>
        public static EntityState Of(EntityStateResult state) => new(state.EntityId, state.Version, state.EventCount, state.CountsByType,
            state.LastEventId, state.LastEventType, state.LastEventAt, state.Data, state.Node);
    }

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication MapEventEndpoints(this WebApplication app)
    {
        app.MapPost("/api/events", SubmitAsync)
            .RequireScope(ApiScope.Write)
            .WithName("SubmitEvent")
            .WithSummary("Sends one event; answered once the entity persisted it (a repeated eventId is a duplicate and changes nothing)")
            .WithTags("events")
            .WithJsonBody<EventRequest>()
            .Produces<EventAccepted>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapPost("/api/events/batch", BatchEndpoint.SubmitAsync)
            .RequireScope(ApiScope.Write)
            .WithName("SubmitEventBatch")
            .WithSummary("Sends many events as a JSON array, or as NDJSON (application/x-ndjson, one event body a line); answers each with its own result")
            .WithTags("events")
            .WithJsonBody<EventRequest[]>()
            .Produces<BatchEndpoint.BatchAnswer>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        app.MapGet("/api/entities/{id}", GetStateAsync)
            .RequireScope(ApiScope.Read)
            .WithName("GetEntity")
            .WithSummary("An entity's state, folded from every event it applied, from any node")
            .WithTags("entities")
            .Produces<EntityState>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapDelete("/api/entities/{id}", EraseAsync)
            .RequireScope(ApiScope.Admin)
            .WithName("EraseEntity")
            .WithSummary("Erases an entity: its events become tombstones (positions stay), its snapshots and state are dropped, an erase notice " +
                         "is appended to the log, and it takes no more events; repeating it is safe")
            .WithTags("entities")
            .Produces<EraseResult>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    /// <summary>How long an erase may take: the entity's answer, then every member's reader reaching the notice.</summary>
    private static readonly TimeSpan EraseTimeout = EraseCoordinator.EntityTimeout + EraseCoordinator.ReadersTimeout + TimeSpan.FromSeconds(2);

    private static async Task<IResult> EraseAsync(string id, HttpContext http, ActorRegistry registry)
    {
        if (EventValidation.CheckEntityId(id) is { } problem)
            return Problem(StatusCodes.Status400BadRequest, "invalid entity id", problem);
        var reply = await AskIngressAsync(registry, new EraseEntity(Guid.NewGuid().ToString("N"), id, ApiAccess.BearerToken(http)), EraseTimeout);
        return reply switch
        {
            EraseResult { Succeeded: true } erased => Results.Json(erased),
            EraseResult { Status: 503 } failed => Unavailable(http, failed.Reason ?? "the erase did not complete; run it again"),
            EraseResult refused => Problem(refused.Status, refused.Status == 404 ? "no such entity" : "erase refused", refused.Reason ?? ""),
            null => Unavailable(http, $"the cluster did not answer the erase of {id} within {EraseTimeout.TotalSeconds:0}s; run it again (it is safe to repeat)"),
            _ => Problem(StatusCodes.Status500InternalServerError, "unexpected reply", reply.GetType().Name),
        };
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, ActorRegistry registry, ActorSystem system)
    {
        var metrics = NodeMetrics.Of(system);
        if (!http.Request.HasJsonContentType())
        {
            metrics.EventRejected();
            return Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported media type",
                $"the body of POST /api/events must be JSON sent as 'Content-Type: application/json', not '{http.Request.ContentType ?? "none"}'");
        }

        var body = await ReadBodyAsync(http.Request, MaxBodyBytes);
        if (body is null)
            return Problem(StatusCodes.Status413PayloadTooLarge, "request body too large",
                $"the body of POST /api/events may hold at most {MaxBodyBytes} bytes");

        // The request's span, when the node traces, is the parent of the ingress's and the entity's.
        var traceParent = System.Diagnostics.Activity.Current is { Recorded: true } span ? span.Id : null;
        var (command, title, problem) = ParseEvent(body, traceParent);
        if (command is null)
        {
            metrics.EventRejected();
            return Problem(StatusCodes.Status400BadRequest, title!, problem!);
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
            EntityStateResult { Erased: true } erased => Problem(StatusCodes.Status410Gone, "entity erased",
                $"entity {id} was erased (its erase notice is version {erased.Version}); it has no data and takes no events"),
            EntityStateResult { Exists: false } => Problem(StatusCodes.Status404NotFound, "no such entity",
                $"entity {id} has not applied any event"),
            EntityStateResult state => Results.Json(EntityState.Of(state)),
            QueryRejected rejected => Problem(StatusCodes.Status400BadRequest, "query rejected", rejected.Reason),
            null => Unavailable(http, $"the cluster did not answer for entity {id} within {ClusterTimeout.TotalSeconds:0}s"),
            _ => Problem(StatusCodes.Status500InternalServerError, "unexpected reply", reply.GetType().Name),
        };
    }

    /// <summary>
    /// One <c>POST /api/events</c> body as the event it submits (an event id drawn when it has none),
    /// or null with a title and the reason when it is malformed or breaks a rule.
    /// </summary>
    internal static (SubmitEvent? Command, string? Title, string? Problem) ParseEvent(ReadOnlySpan<byte> json, string? traceParent = null)
    {
        EventRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<EventRequest>(json, RequestOptions);
        }
        catch (JsonException ex)
        {
            return (null, "malformed event", "the body must be a JSON object with entityId, type, and optionally eventId and data: " +
                ApiResults.DescribeJson(ex, "entityId, type, eventId and data", "entityId, type and eventId are strings, data is an object"));
        }

        if (request is null)
            return (null, "malformed event", "the body must be a JSON object, not null");
        var data = request.Data is { } element ? element.GetRawText() : "{}";
        var command = new SubmitEvent(request.EntityId!, request.EventId ?? Guid.NewGuid().ToString("N"), request.Type!, data, traceParent);
        return EventValidation.Check(command) is { } problem ? (null, "invalid event", problem) : (command, null, null);
    }

    /// <summary>Asks the ingress; null when no answer came in time (or the node is not ready).</summary>
    internal static async Task<object?> AskIngressAsync(ActorRegistry registry, object message, TimeSpan? timeout = null)
    {
        if (!registry.TryGet<IngressActor>(out var ingress))
            return null;
        try
        {
            return await ingress.Ask<object>(message, timeout ?? ClusterTimeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    /// <summary>The request body, or null when it is longer than <paramref name="maxBytes"/>.</summary>
    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes)
    {
        if (request.ContentLength > maxBytes)
            return null;
        if (request.ContentLength is { } known)
        {
            // The usual case: the length is given, and the body is read straight into its array.
            var body = new byte[known];
            var filled = 0;
            while (filled < body.Length && await request.Body.ReadAsync(body.AsMemory(filled)) is var count and > 0)
                filled += count;
            return filled == body.Length ? body : body[..filled];
        }

        var buffer = new MemoryStream(1024);
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk)) > 0)
        {
            if (buffer.Length + read > maxBytes)
                return null;
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static IResult Unavailable(HttpContext http, string detail) => ApiResults.Unavailable(http, detail, "cluster unavailable");

    private static IResult Problem(int status, string title, string detail) => ApiResults.Problem(status, title, detail);
}
