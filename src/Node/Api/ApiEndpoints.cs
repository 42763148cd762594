using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using EventCluster.Node.Cluster;
using EventCluster.Node.Entities;
using EventCluster.Node.Security;

namespace EventCluster.Node.Api;

/// <summary>
/// The node's HTTP endpoints: health probes, cluster status, events and entities, metrics, dashboard.
/// Each <c>/api</c> endpoint declares the scope it needs (<see cref="ApiAccess"/>); health, the dashboard page and
/// (unless <see cref="ApiOptions.MetricsNeedToken"/>) <c>/metrics</c> are open.
/// </summary>
public static class ApiEndpoints
{
    /// <summary>Maps the endpoints onto the node's web application; the services come from <see cref="ApiServiceCollectionExtensions.AddEventClusterApi"/>.</summary>
    public static WebApplication MapEventClusterApi(this WebApplication app)
    {
        // Tokens first, so a refused caller takes no stream permit; then the stream endpoint's
        // concurrency policy from AddEventClusterApi.
        app.UseApiAccess();
        app.UseRateLimiter();
        app.MapGet("/health/live", () => Results.Text("live\n"));
        app.MapGet("/health/ready", (ActorSystem system, ActorRegistry registry) =>
        {
            var up = Akka.Cluster.Cluster.Get(system).SelfMember.Status == MemberStatus.Up;
            var regionReady = registry.TryGet<EntityRegion>(out _);
            return up && regionReady
                ? Results.Text("ready\n")
                : Results.Text($"not ready: member {(up ? "Up" : "not Up")}, shard region {(regionReady ? "registered" : "not registered")}\n",
                    statusCode: StatusCodes.Status503ServiceUnavailable);
        });
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
        }).RequireScope(ApiScope.Read);
        // The dashboard's way into the stream: EventSource cannot send a header, so it trades its
        // token for a ticket it may put in the stream's URL (see StreamTickets).
        app.MapPost("/api/stream-tickets", (HttpContext http, ApiOptions options, StreamTickets tickets) =>
        {
            var entry = options.Tokens.Find(ApiAccess.BearerToken(http)) ?? new ApiTokenEntry("anyone", ApiScope.All, []);
            return Results.Json(new { ticket = tickets.Issue(entry), expiresInSeconds = (int)StreamTickets.Lifetime.TotalSeconds },
                statusCode: StatusCodes.Status201Created);
        }).RequireScope(ApiScope.Read);
        app.MapGet("/", () => Results.Stream(Dashboard.Open(), "text/html; charset=utf-8"));
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
