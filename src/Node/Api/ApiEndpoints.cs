using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Queries;
using EventCluster.Node.Cluster;
using EventCluster.Node.Entities;
using EventCluster.Node.Security;

namespace EventCluster.Node.Api;

/// <summary>A ticket for the event stream and how long it is valid.</summary>
public sealed record StreamTicketResult(string Ticket, int ExpiresInSeconds);

/// <summary>
/// The node's HTTP endpoints: health probes, cluster status, events and entities, metrics, dashboard,
/// the OpenAPI document. Each <c>/api</c> endpoint declares the scope it needs (<see cref="ApiAccess"/>);
/// health, the dashboard page, the OpenAPI document and (unless <see cref="ApiOptions.MetricsNeedToken"/>)
/// <c>/metrics</c> are open.
/// </summary>
public static class ApiEndpoints
{
    /// <summary>Maps the endpoints onto the node's web application; the services come from <see cref="ApiServiceCollectionExtensions.AddEventClusterApi"/>.</summary>
    public static WebApplication MapEventClusterApi(this WebApplication app)
    {
        // Tokens first, so a refused caller takes no stream permit and the rate limits count each
        // token by name; then the per-client rate limits and the stream endpoint's concurrency
        // policy from AddEventClusterApi.
        app.UseApiAccess();
        app.UseRateLimiter();
        app.MapHealthEndpoints();
        app.MapGet("/api/cluster", async (ActorSystem system, ActorRegistry registry) =>
        {
            if (!registry.TryGet<EntityRegion>(out var region))
                return Results.Problem("the shard region is not started yet", statusCode: StatusCodes.Status503ServiceUnavailable);
            try
            {
                return Results.Json(await new ClusterStatusReader(system, region).ReadAsync());
            }
            catch (Exception ex) when (ex is AskTimeoutException or TaskCanceledException)
            {
                return Results.Problem("the cluster did not answer in time", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        })
            .RequireScope(ApiScope.Read)
            .WithName("GetClusterStatus")
            .WithSummary("Members, leader, shards and entities per node, and this node's recent cluster events")
            .WithTags("cluster")
            .Produces<ClusterStatusResult>()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // The dashboard's way into the stream: EventSource cannot send a header, so it trades its
        // token for a ticket it may put in the stream's URL (see StreamTickets).
        app.MapPost("/api/stream-tickets", (HttpContext http, ApiOptions options, StreamTickets tickets) =>
        {
            var entry = options.Tokens.Find(ApiAccess.BearerToken(http)) ?? new ApiTokenEntry("anyone", ApiScope.All, []);
            return Results.Json(new StreamTicketResult(tickets.Issue(entry), (int)StreamTickets.Lifetime.TotalSeconds),
                statusCode: StatusCodes.Status201Created);
        })
            .RequireScope(ApiScope.Read)
            .CountAsStreamOpen()
            .WithName("CreateStreamTicket")
            .WithSummary("A short-lived ticket that opens the event stream without an Authorization header (for EventSource)")
            .WithTags("events")
            .Produces<StreamTicketResult>(StatusCodes.Status201Created);
        app.MapGet("/", () => Results.Stream(Dashboard.Open(), "text/html; charset=utf-8"))
            .WithName("GetDashboard")
            .WithSummary("The live dashboard page")
            .WithTags("dashboard")
            .Produces<string>(contentType: "text/html");
        app.MapOpenApi()
            .WithName("GetOpenApiDocument")
            .WithSummary("This document (v1)")
            .WithTags("api")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, null, ["application/json"]));
        app.MapMetricsEndpoints();
        app.MapEventEndpoints();
        app.MapListenerEndpoints();
        app.MapWebhookEndpoints();
        return app;
    }
}

/// <summary>The dashboard page, embedded in the node: it works offline, no CDN.</summary>
public static class Dashboard
{
    /// <summary>Opens the embedded page.</summary>
    public static Stream Open() =>
        typeof(Dashboard).Assembly.GetManifestResourceStream("EventCluster.Node.Api.dashboard.html")
        ?? throw new InvalidOperationException("the dashboard page is missing from the build");
}
