using EventCluster.Node.Security;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.RateLimiting;

namespace EventCluster.Node.Api;

/// <summary>The services the node's HTTP endpoints need.</summary>
public static class ApiServiceCollectionExtensions
{
    /// <summary>The rate-limiter policy that bounds the Server-Sent Event streams a node serves at once.</summary>
    public const string StreamPolicy = "event-streams";

    /// <summary>Adds the API's options, the limit on concurrent streams, the per-client rate limits, the health-check service and the OpenAPI document; <see cref="ApiEndpoints.MapEventClusterApi"/> uses them.</summary>
    public static IServiceCollection AddEventClusterApi(this IServiceCollection services, ApiOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(new StreamTickets(TimeProvider.System));
        // The checks themselves come from the actor system (NodeHealth); this runs them for the probes.
        services.AddHealthChecks();
        services.AddEventClusterOpenApi();
        // Numbers are written as numbers, and no handler binds a body through these options: strict
        // handling makes the document say "integer" rather than "integer or string".
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        services.AddRateLimiter(limiter =>
        {
            // A stream holds its permit for as long as it is open; no queue, so a stream beyond
            // the limit is refused at once and its client can try another node.
            limiter.AddConcurrencyLimiter(StreamPolicy, streams =>
            {
                streams.PermitLimit = options.MaxStreams;
                streams.QueueLimit = 0;
            });
            // Per client: writes and stream openings, each a token bucket (ApiRateLimits); 429 past them.
            limiter.GlobalLimiter = ApiRateLimits.Create(options);
            var pacer = new RefusalPacer();
            limiter.OnRejected = (context, _) => ApiRateLimits.OnRejected(context, options, pacer);
        });
        return services;
    }
}
