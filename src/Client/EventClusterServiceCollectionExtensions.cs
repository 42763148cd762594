using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EventCluster.Client;

/// <summary>Registers an <see cref="EventClusterClient"/> with dependency injection.</summary>
public static class EventClusterServiceCollectionExtensions
{
    /// <summary>
    /// Adds one shared <see cref="EventClusterClient"/> (a singleton, connected on first use and
    /// disposed with the service provider), configured by <paramref name="configure"/> on top of
    /// any other configuration of <see cref="EventClusterClientOptions"/> (for example
    /// <c>services.Configure&lt;EventClusterClientOptions&gt;(configuration.GetSection("EventCluster"))</c>).
    /// </summary>
    public static IServiceCollection AddEventClusterClient(this IServiceCollection services, Action<EventClusterClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<EventClusterClientOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.Validate(settings =>
        {
            settings.Validate();
            return true;
        });
        services.TryAddSingleton(provider => new EventClusterClient(provider.GetRequiredService<IOptions<EventClusterClientOptions>>().Value));
        return services;
    }
}
