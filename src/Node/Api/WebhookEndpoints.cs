using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Security;
using EventCluster.Node.Webhooks;
using Microsoft.OpenApi;

namespace EventCluster.Node.Api;

/// <summary>
/// <c>/api/subscriptions</c>: webhook subscriptions the cluster delivers, managed from any node.
/// When the node has tokens, every call needs one with the admin scope.
/// </summary>
public static class WebhookEndpoints
{
    private static readonly JsonSerializerOptions RequestOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        PropertyNameCaseInsensitive = false,
    };

    private static readonly JsonSerializerOptions ResponseOptions = new(JsonSerializerDefaults.Web);

    /// <summary>The body of <c>POST /api/subscriptions</c>; any other field is refused.</summary>
    public sealed record AddRequest(
        string? Name, string? Url, string[]? Types = null, string? EntityPrefix = null, JsonElement? From = null, string? Secret = null,
        int? MaxAttempts = null, int? Concurrency = null);

    /// <summary>The subscriptions as <c>GET /api/subscriptions</c> answers them.</summary>
    /// <param name="Subscriptions">Every subscription.</param>
    public sealed record WebhookList(IReadOnlyList<WebhookInfo> Subscriptions);

    /// <summary>The answer of a replay of parked events.</summary>
    /// <param name="Replaying">What is replayed.</param>
    public sealed record ReplayAnswer(string? Replaying);

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication MapWebhookEndpoints(this WebApplication app)
    {
        // Subscriptions reveal where events go and can send them anywhere allowed: admin only.
        var subscriptions = app.MapGroup("/api/subscriptions").RequireScope(ApiScope.Admin);
        subscriptions.MapPost("", AddAsync)
            .WithName("AddSubscription")
            .WithSummary("Adds a webhook subscription; the cluster delivers every matching event to its URL")
            .WithJsonBody<AddRequest>()
            .Produces<WebhookInfo>(StatusCodes.Status201Created)
            .WithWebhookProblems(StatusCodes.Status400BadRequest, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status415UnsupportedMediaType);
        subscriptions.MapGet("", async (HttpContext http, ActorRegistry registry) =>
            Answer(http, await AskAsync(registry, new GetWebhooks(NewId(), null, null)), answer =>
                Results.Json(new WebhookList(answer.Webhooks), ResponseOptions)))
            .WithName("ListSubscriptions")
            .WithSummary("Every webhook subscription with its position, lag and counts")
            .Produces<WebhookList>()
            .WithWebhookProblems();
        subscriptions.MapGet("/{name}", async (string name, HttpContext http, ActorRegistry registry) =>
            Answer(http, await AskAsync(registry, new GetWebhooks(NewId(), name, null)), answer =>
            {
                var shown = JsonSerializer.SerializeToNode(answer.Webhooks[0], ResponseOptions)!.AsObject();
                shown["parkedEvents"] = JsonSerializer.SerializeToNode(answer.Parked, ResponseOptions);
                return Results.Json(shown);
            }))
            .WithName("GetSubscription")
            .WithSummary("One webhook subscription with its parked events")
            .Produces<WebhookInfo>()
            .AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
            {
                // The answer is the subscription's fields plus parkedEvents (a flat object, as the client reads it).
                var schema = operation.Responses!["200"].Content!["application/json"].Schema!;
                var parked = await context.GetOrCreateSchemaAsync(typeof(IReadOnlyList<ParkedEvent>), null, cancellationToken);
                operation.Responses["200"].Content!["application/json"].Schema = new OpenApiSchema
                {
                    AllOf = [schema, new OpenApiSchema { Type = JsonSchemaType.Object, Properties = new Dictionary<string, IOpenApiSchema> { ["parkedEvents"] = parked } }],
                };
            })
            .WithWebhookProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        subscriptions.MapDelete("/{name}", async (string name, HttpContext http, ActorRegistry registry) =>
            Answer(http, await AskAsync(registry, new RemoveWebhook(NewId(), name, null)), _ => Results.NoContent()))
            .WithName("RemoveSubscription")
            .WithSummary("Removes a webhook subscription")
            .Produces(StatusCodes.Status204NoContent)
            .WithWebhookProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        subscriptions.MapPost("/{name}/parked/replay", async (string name, HttpContext http, ActorRegistry registry) =>
            Answer(http, await AskAsync(registry, new ReplayParked(NewId(), name, null)), answer =>
                Results.Json(new ReplayAnswer(answer.Reason), statusCode: StatusCodes.Status202Accepted)))
            .WithName("ReplayParked")
            .WithSummary("Delivers a subscription's parked events again")
            .Produces<ReplayAnswer>(StatusCodes.Status202Accepted)
            .WithWebhookProblems(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> AddAsync(HttpContext http, ActorRegistry registry)
    {
        if (!http.Request.HasJsonContentType())
            return Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported media type",
                $"the body must be JSON sent as 'Content-Type: application/json', not '{http.Request.ContentType ?? "none"}'");
        if (http.Request.ContentLength > 64 * 1024)
            return Problem(StatusCodes.Status413PayloadTooLarge, "request body too large", "a subscription is at most 64 KiB of JSON");
        AddRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<AddRequest>(http.Request.Body, RequestOptions);
        }
        catch (JsonException ex)
        {
            return Problem(StatusCodes.Status400BadRequest, "malformed subscription",
                "the body must be a JSON object with name and url, and optionally types, entityPrefix, from, secret, maxAttempts and concurrency: " +
                ApiResults.DescribeJson(ex, "name, url, types, entityPrefix, from, secret, maxAttempts and concurrency",
                    "name, url, entityPrefix and secret are strings, types an array of strings, from a string or a number, maxAttempts and concurrency numbers"));
        }

        if (request is null)
            return Problem(StatusCodes.Status400BadRequest, "malformed subscription", "the body must be a JSON object, not null");
        long after = 0;
        if (request.From is { } from)
        {
            var ok = from.ValueKind switch
            {
                JsonValueKind.String => Positions.TryParseFrom(from.GetString(), out after),
                JsonValueKind.Number => from.TryGetInt64(out after) && after >= 0,
                _ => false,
            };
            if (!ok)
                return Problem(StatusCodes.Status400BadRequest, "invalid from", $"from {from.GetRawText()} must be \"start\", \"end\" or a position (a whole number of 0 or more)");
        }

        var definition = new WebhookDefinition(request.Name ?? "", request.Url ?? "", request.Types ?? [], request.EntityPrefix, request.Secret,
            request.MaxAttempts ?? WebhookDefinition.DefaultMaxAttempts, request.Concurrency ?? WebhookDefinition.DefaultConcurrency);
        return Answer(http, await AskAsync(registry, new AddWebhook(NewId(), definition, after, null)), answer =>
            Results.Json(answer.Webhooks[0], ResponseOptions, statusCode: StatusCodes.Status201Created));
    }

    private static IResult Answer(HttpContext http, WebhookAnswer? answer, Func<WebhookAnswer, IResult> success)
    {
        switch (answer)
        {
            case null:
                return ApiResults.Unavailable(http, "the node did not answer in time");
            case { Status: >= 200 and < 300 }:
                return success(answer);
            case { Status: StatusCodes.Status503ServiceUnavailable }:
                return ApiResults.Unavailable(http, answer.Reason!);
            default:
                return Problem(answer.Status, answer.Status switch
                {
                    StatusCodes.Status404NotFound => "no such subscription",
                    StatusCodes.Status409Conflict => "name taken",
                    _ => "invalid subscription",
                }, answer.Reason!);
        }
    }

    private static async Task<WebhookAnswer?> AskAsync(ActorRegistry registry, object request)
    {
        if (!registry.TryGet<WebhookManager>(out var manager))
            return null;
        try
        {
            return await manager.Ask<WebhookAnswer>(request, EventEndpoints.ClusterTimeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    /// <summary>Documents the problems every subscription call can answer (401, 403, 503) and <paramref name="statuses"/>.</summary>
    private static RouteHandlerBuilder WithWebhookProblems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        builder.WithTags("webhooks");
        foreach (var status in statuses.Concat([StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status503ServiceUnavailable]))
            builder.ProducesProblem(status);
        return builder;
    }

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static IResult Problem(int status, string title, string detail) => ApiResults.Problem(status, title, detail);
}
