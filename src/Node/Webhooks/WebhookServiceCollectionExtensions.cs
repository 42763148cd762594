namespace EventCluster.Node.Webhooks;

/// <summary>Registers what webhook delivery takes from dependency injection.</summary>
public static class WebhookServiceCollectionExtensions
{
    /// <summary>Registers <paramref name="options"/> and the named <see cref="HttpClient"/> deliveries use.</summary>
    public static IServiceCollection AddWebhookDelivery(this IServiceCollection services, WebhookOptions options)
    {
        services.AddSingleton(options);
        // Attempts are timed by the sender's pipeline; redirects are not followed (a receiver
        // must not send deliveries, and their signatures, to another host). Every connection is
        // made by the address policy, which checks the address it connects to; no proxy, since
        // the policy would then check the proxy's address instead of the receiver's.
        services.AddHttpClient(WebhookSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false, MaxConnectionsPerServer = 256, UseProxy = false,
                ConnectCallback = (context, cancel) => options.Addresses.ConnectAsync(context.DnsEndPoint, cancel),
            })
            .SetHandlerLifetime(TimeSpan.FromMinutes(2))
            // A log line per request would cost more than the delivery at thousands per second.
            .RemoveAllLoggers();
        return services;
    }
}
