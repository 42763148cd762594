using EventCluster.Node.Hosting;

namespace EventCluster.Node.Api;

/// <summary>The node with its HTTP API: the web application <c>Program.cs</c> runs, built in one place.</summary>
public static class NodeWebApplication
{
    /// <summary>
    /// The node's web application, with every endpoint mapped, not started. The HTTP port serves
    /// HTTPS only when <see cref="NodeSettings.HttpCertificate"/> is given, plain HTTP otherwise:
    /// never both on one port.
    /// </summary>
    public static WebApplication Build(NodeSettings settings)
    {
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        web.ConfigureEventClusterNode(settings);
        web.Services.AddEventClusterApi(new ApiOptions(settings.MaxStreams, settings.StreamBuffer, settings.StreamHeartbeatSeconds,
            settings.Tokens, settings.ProtectMetrics, settings.RateLimitWrites, settings.RateLimitStreams));
        var scheme = settings.HttpCertificate is null ? "http" : "https";
        web.WebHost.UseUrls($"{scheme}://{(settings.BindHost == "0.0.0.0" ? "*" : settings.BindHost)}:{settings.HttpPort}");
        if (settings.HttpCertificate is { } certificate)
            web.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate));
        var app = web.Build();
        app.MapEventClusterApi();
        return app;
    }
}
