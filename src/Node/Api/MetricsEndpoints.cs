using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Security;
using EventCluster.Node.Telemetry;
using EventCluster.Node.Webhooks;

namespace EventCluster.Node.Api;

/// <summary>
/// <c>GET /metrics</c>, the Prometheus text of the node's OpenTelemetry metrics, and
/// <c>GET /api/metrics</c>, the node's own figures as JSON for the dashboard.
/// </summary>
public static class MetricsEndpoints
{
    /// <summary>How long a scrape waits for the webhook figures before it goes on without them.</summary>
    public static readonly TimeSpan WebhookReadTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The node's figures, as <c>GET /api/metrics</c> answers them.</summary>
    /// <param name="EventsAccepted">Events persisted and acknowledged by entities on this node.</param>
    /// <param name="EventsDuplicate">Repeated event ids acknowledged as duplicates.</param>
    /// <param name="EventsRejected">Events rejected (invalid, or over an entity's data cap).</param>
    /// <param name="ActiveEntities">Entity actors alive on this node.</param>
    /// <param name="PersistCount">Events whose persist time was measured.</param>
    /// <param name="PersistSecondsSum">The sum of those persist times, in seconds.</param>
    /// <param name="ShardsByNode">Shards hosted per node (host:port), as this node sees the cluster.</param>
    /// <param name="MembersByStatus">Cluster members per status, as this node sees the cluster.</param>
    /// <param name="Webhooks">Each webhook subscription's position, lag and counts.</param>
    public sealed record NodeFigures(
        long EventsAccepted, long EventsDuplicate, long EventsRejected, long ActiveEntities, long PersistCount, double PersistSecondsSum,
        IReadOnlyDictionary<string, int> ShardsByNode, IReadOnlyDictionary<string, int> MembersByStatus, IReadOnlyList<WebhookFigures> Webhooks);

    /// <summary>A webhook subscription's figures.</summary>
    /// <param name="Subscription">Its name.</param>
    /// <param name="Position">Position below which every matching event was delivered or parked.</param>
    /// <param name="Lag">Events stored after that position.</param>
    /// <param name="Delivered">Events delivered with a 2xx answer.</param>
    /// <param name="Retries">Delivery attempts that failed and were retried.</param>
    /// <param name="Parked">Events parked now.</param>
    public sealed record WebhookFigures(string Subscription, long Position, long Lag, long Delivered, long Retries, long Parked);

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication MapMetricsEndpoints(this WebApplication app)
    {
        // The webhook figures come from the journal database: read them before the exporter
        // collects, since the instruments' callbacks cannot wait for a query.
        var scrape = app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null,
            configureBranchedPipeline: branch => branch.Use(async (http, next) =>
            {
                await ReadWebhooksAsync(http.RequestServices);
                await next(http);
            }), optionsName: null)
            // The scrape answers any method; Prometheus and the document use GET.
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
            .WithName("ScrapeMetrics")
            .WithSummary("The node's metrics as Prometheus text")
            .WithTags("metrics")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/plain"]));
        if (app.Services.GetRequiredService<ApiOptions>().MetricsNeedToken)
            scrape.RequireScope(ApiScope.Read);
        app.MapGet("/api/metrics", async (HttpContext http, ActorSystem system) =>
        {
            await ReadWebhooksAsync(http.RequestServices);
            var metrics = NodeMetrics.Of(system);
            return Results.Json(new NodeFigures(metrics.Accepted, metrics.Duplicates, metrics.Rejected, metrics.ActiveEntities,
                metrics.PersistCount, metrics.PersistTotal.TotalSeconds, metrics.ShardsByNode(), metrics.MembersByStatus(),
                metrics.Webhooks.Select(w => new WebhookFigures(w.Name, w.Position, w.Lag, w.Delivered, w.Retries, w.Parked)).ToList()));
        })
            .RequireScope(ApiScope.Read)
            .WithName("GetNodeFigures")
            .WithSummary("This node's figures as JSON (what the dashboard reads)")
            .WithTags("metrics")
            .Produces<NodeFigures>();
        return app;
    }

    /// <summary>Reads every subscription's figures into the node's metrics; leaves the last ones when the database does not answer in time.</summary>
    private static async Task ReadWebhooksAsync(IServiceProvider services)
    {
        var system = services.GetRequiredService<ActorSystem>();
        var registry = services.GetRequiredService<ActorRegistry>();
        if (!registry.TryGet<WebhookManager>(out var manager))
            return;
        try
        {
            var answer = await manager.Ask<WebhookAnswer>(new GetWebhooks(Guid.NewGuid().ToString("N"), null, null), WebhookReadTimeout);
            NodeMetrics.Of(system).WebhooksRead(answer.Webhooks);
        }
        catch (AskTimeoutException)
        {
        }
    }
}
