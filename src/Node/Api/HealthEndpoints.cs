using EventCluster.Node.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventCluster.Node.Api;

/// <summary>
/// <c>GET /health/live</c> and <c>GET /health/ready</c>: ASP.NET Core health checks over the
/// checks of <see cref="NodeHealth"/>, for liveness and readiness probes. 200 when every check of
/// the probe passes, else 503; the body lists each check either way.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>A probe's answer.</summary>
    /// <param name="Status">Healthy or Unhealthy: the worst of the checks.</param>
    /// <param name="Checks">Each check with its own status and what it found.</param>
    public sealed record HealthAnswer(string Status, IReadOnlyList<HealthCheckAnswer> Checks);

    /// <summary>One check of a probe.</summary>
    /// <param name="Name">The check.</param>
    /// <param name="Status">Healthy, Degraded or Unhealthy.</param>
    /// <param name="Description">What it found.</param>
    /// <param name="DurationMs">How long it took, in milliseconds.</param>
    public sealed record HealthCheckAnswer(string Name, string Status, string? Description, double DurationMs);

    /// <summary>Maps the probes; the checks come from the node's actor system.</summary>
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        Map(app, "/health/live", NodeHealth.LiveTag, "Liveness", "the actor system runs (restart the node when this fails)");
        Map(app, "/health/ready", NodeHealth.ReadyTag, "Readiness",
            "this node is an Up member that is not leaving, its shard region is started and its journal answers (send it traffic)");
        return app;
    }

    private static void Map(WebApplication app, string path, string tag, string name, string description) =>
        app.MapHealthChecks(path, new HealthCheckOptions
            {
                Predicate = registration => registration.Tags.Contains(tag),
                ResponseWriter = (http, report) => http.Response.WriteAsJsonAsync(new HealthAnswer(report.Status.ToString(),
                    report.Entries.Select(entry => new HealthCheckAnswer(entry.Key, entry.Value.Status.ToString(), entry.Value.Description,
                        entry.Value.Duration.TotalMilliseconds)).ToList())),
            })
            // MapHealthChecks answers any method; the probes use GET, and so does the document.
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get]))
            .WithName(name)
            .WithSummary(description)
            .WithTags("health")
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(HealthAnswer), ["application/json"]))
            .WithMetadata(new ProducesResponseTypeMetadata(StatusCodes.Status503ServiceUnavailable, typeof(HealthAnswer), ["application/json"]));
}
