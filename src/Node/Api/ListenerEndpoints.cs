using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;
using EventCluster.Node.Security;
using EventCluster.Node.Subscriptions;
using Microsoft.Extensions.Primitives;
using Microsoft.OpenApi;

namespace EventCluster.Node.Api;

/// <summary>
/// The listeners' endpoints: an entity's history, the groups, and the event log as
/// Server-Sent Events (<c>GET /api/events/stream</c>), served by the node's event-log reader.
/// </summary>
public static class ListenerEndpoints
{
    /// <summary>An entity's history as <c>GET /api/entities/{id}/events</c> answers it.</summary>
    /// <param name="EntityId">The entity.</param>
    /// <param name="Events">Its events from the version asked for, in version order.</param>
    public sealed record EntityHistory(string EntityId, IReadOnlyList<EventRecord> Events);

    /// <summary>The groups as <c>GET /api/groups</c> answers them.</summary>
    /// <param name="Head">The latest position of the event log.</param>
    /// <param name="Groups">Every group.</param>
    public sealed record GroupsAnswer(long Head, IReadOnlyList<GroupInfo> Groups);

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication MapListenerEndpoints(this WebApplication app)
    {
        app.MapGet("/api/entities/{id}/events", HistoryAsync)
            .RequireScope(ApiScope.Read)
            .WithName("GetEntityHistory")
            .WithSummary("An entity's events in version order")
            .WithTags("entities")
            .WithQuery(("from", JsonSchemaType.Integer, "first version (default 1)"),
                ("limit", JsonSchemaType.Integer, $"most events answered (default {GetEntityHistory.DefaultLimit}, at most {GetEntityHistory.MaxLimit})"))
            .Produces<EntityHistory>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/groups", GroupsAsync)
            .RequireScope(ApiScope.Read)
            .WithName("GetGroups")
            .WithSummary("Every consumer group with its position, lag and whether a subscriber is active")
            .WithTags("listeners")
            .Produces<GroupsAnswer>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        app.MapGet("/api/events/stream", StreamAsync)
            .RequireScope(ApiScope.Read)
            .AcceptStreamTicket()
            .CountAsStreamOpen()
            .RequireRateLimiting(ApiServiceCollectionExtensions.StreamPolicy)
            .WithName("StreamEvents")
            .WithSummary("The event log from a position as Server-Sent Events (id: position, event: event or caught-up); Last-Event-ID resumes")
            .WithTags("listeners")
            .WithQuery(("from", JsonSchemaType.String, "start, end or a position (default start)"),
                ("type", JsonSchemaType.String, "an event type to keep; repeat for several"),
                ("entity", JsonSchemaType.String, "the one entity to keep"),
                ("entityPrefix", JsonSchemaType.String, "the prefix of the entity ids to keep"))
            .Produces<EventRecord>(contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> HistoryAsync(string id, HttpContext http, ActorRegistry registry)
    {
        if (EventValidation.CheckEntityId(id) is { } problem)
            return Problem(StatusCodes.Status400BadRequest, "invalid entity id", problem);
        if (UnknownParameter(http, "from", "limit") is { } unknown)
            return unknown;
        if (!TryWhole(http.Request.Query["from"], 1, 1, long.MaxValue, out var from))
            return Problem(StatusCodes.Status400BadRequest, "invalid from", "from must be a version, a whole number of 1 or more");
        if (!TryWhole(http.Request.Query["limit"], GetEntityHistory.DefaultLimit, 1, GetEntityHistory.MaxLimit, out var limit))
            return Problem(StatusCodes.Status400BadRequest, "invalid limit", $"limit must be a whole number from 1 to {GetEntityHistory.MaxLimit}");

        var reply = await AskAsync(registry, new GetEntityHistory(NewRequestId(), id, from, (int)limit));
        return reply switch
        {
            EntityHistoryResult { Exists: false } => Problem(StatusCodes.Status404NotFound, "no such entity", $"entity {id} has not applied any event"),
            EntityHistoryResult history => Results.Json(new EntityHistory(history.EntityId, history.Events)),
            EventLogRequestRefused refused => Refused(http, refused),
            _ => Unavailable(http, $"the node did not read the history of {id} in time"),
        };
    }

    private static async Task<IResult> GroupsAsync(HttpContext http, ActorRegistry registry)
    {
        if (UnknownParameter(http) is { } unknown)
            return unknown;
        var reply = await AskAsync(registry, new GetGroups(NewRequestId()));
        return reply switch
        {
            GroupList list => Results.Json(new GroupsAnswer(list.Head, list.Groups)),
            EventLogRequestRefused refused => Refused(http, refused),
            _ => Unavailable(http, "the node did not list the groups in time"),
        };
    }

    /// <summary>
    /// The event log from a position as <c>text/event-stream</c> (see <see cref="EventStream"/>);
    /// <c>Last-Event-ID</c> resumes after that position. The rate limiter's stream policy bounds
    /// how many are open at once.
    /// </summary>
    private static async Task StreamAsync(HttpContext http, ActorRegistry registry, ApiOptions options, ILoggerFactory loggers)
    {
        var (after, filter, problem) = ParseStream(http.Request);
        if (problem is not null)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        if (!registry.TryGet<EventLogActor>(out var eventLog))
        {
            await Unavailable(http, "the node's event-log reader is not started yet").ExecuteAsync(http);
            return;
        }

        var log = loggers.CreateLogger("EventCluster.Node.Api.EventStream");
        await new EventStream(http, eventLog, after, filter, options, log).RunAsync();
    }

    /// <summary>The stream's start and filter from the query and <c>Last-Event-ID</c>, or the 400 answer.</summary>
    private static (long After, EventFilter Filter, IResult? Problem) ParseStream(HttpRequest request)
    {
        IResult Bad(string title, string detail) => Problem(StatusCodes.Status400BadRequest, title, detail);

        if (UnknownParameter(request.HttpContext, "from", "type", "entity", "entityPrefix", ApiAccess.TicketParameter) is { } unknown)
            return (0, EventFilter.All, unknown);
        var types = request.Query["type"].Where(t => t is not null).Select(t => t!).ToList();
        var entity = Single(request.Query["entity"]);
        var prefix = Single(request.Query["entityPrefix"]);
        var filter = new EventFilter(types, entity, prefix);
        if (EventValidation.CheckFilter(filter) is { } filterProblem)
            return (0, filter, Bad("invalid filter", filterProblem));

        if (request.Headers["Last-Event-ID"] is { Count: > 0 } lastEventId)
        {
            return long.TryParse(lastEventId.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                ? (last, filter, null)
                : (0, filter, Bad("invalid Last-Event-ID", $"Last-Event-ID '{EventValidation.Printable(lastEventId.ToString())}' must be a position, a whole number of 0 or more"));
        }

        var from = Single(request.Query["from"]) ?? "start";
        return Positions.TryParseFrom(from, out var after)
            ? (after, filter, null)
            : (0, filter, Bad("invalid from", $"from '{EventValidation.Printable(from)}' must be start, end or a position (a whole number of 0 or more)"));
    }

    private static IResult? UnknownParameter(HttpContext http, params string[] known)
    {
        var unknown = http.Request.Query.Keys.FirstOrDefault(key => !known.Contains(key, StringComparer.Ordinal));
        if (unknown is not null)
            return Problem(StatusCodes.Status400BadRequest, "unknown parameter",
                $"'{EventValidation.Printable(unknown)}' is not a parameter of {http.Request.Path}" + (known.Length > 0 ? $"; known: {string.Join(", ", known)}" : ""));
        var repeated = http.Request.Query.FirstOrDefault(pair => pair.Key != "type" && pair.Value.Count > 1).Key;
        return repeated is null ? null
            : Problem(StatusCodes.Status400BadRequest, "repeated parameter", $"'{repeated}' may be given once");
    }

    private static string? Single(StringValues values) => values.Count == 0 ? null : values[0];

    private static bool TryWhole(StringValues values, long fallback, long min, long max, out long value)
    {
        value = fallback;
        return values.Count == 0 ||
               (long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    private static string NewRequestId() => Guid.NewGuid().ToString("N");

    private static async Task<object?> AskAsync(ActorRegistry registry, object message)
    {
        if (!registry.TryGet<EventLogActor>(out var eventLog))
            return null;
        try
        {
            return await eventLog.Ask<object>(message, EventEndpoints.ClusterTimeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    private static IResult Refused(HttpContext http, EventLogRequestRefused refused) =>
        refused.Retryable ? Unavailable(http, refused.Reason) : Problem(StatusCodes.Status400BadRequest, "request refused", refused.Reason);

    private static IResult Unavailable(HttpContext http, string detail) => ApiResults.Unavailable(http, detail);

    private static IResult Problem(int status, string title, string detail) => ApiResults.Problem(status, title, detail);
}
