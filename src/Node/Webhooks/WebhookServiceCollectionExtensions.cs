namespace EventCluster.Node.Webhooks;

/// <summary>Registers what webhook delivery takes from dependency injection.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>Registers <paramref name="options"/> and the named <see cref="HttpClient"/> deliveries use.</summary>
    public static IServiceCollection AddWebhookDelivery(this IServiceCollection services, WebhookOptions options)
    {
        services.AddSingleton(options);
        // Attempts are timed by the sender's pipeline; redirects are not followed (a receiver
        // must not send deliveries, and their signatures, to another host).
        services.AddHttpClient(WebhookSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = 256 })
            .SetHandlerLifetime(TimeSpan.FromMinutes(2))
            // A log line per request would cost more than the delivery at thousands per second.
            .RemoveAllLoggers();
        return services;
    }
}
