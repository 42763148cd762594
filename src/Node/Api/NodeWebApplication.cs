using EventCluster.Node.Hosting;

namespace EventCluster.Node.Api;

/// <summary>The node with its HTTP endpoints: one web application, built the same way wherever it runs.</summary>
public static class NodeWebApplication
{
    /// <summary>Builds the node's web application (not started) listening on <see cref="NodeSettings.HttpPort"/>.</summary>
    public static WebApplication Create(NodeSettings settings)
    {
        var web = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        web.ConfigureEventClusterNode(settings);
        web.Services.AddEventClusterApi(new ApiOptions(settings.MaxStreams, settings.StreamBuffer, settings.StreamHeartbeatSeconds, settings.ApiToken));
        web.WebHost.UseUrls($"http://{(settings.BindHost == "0.0.0.0" ? "*" : settings.BindHost)}:{settings.HttpPort}");
        var app = web.Build();
        app.MapEventClusterApi();
        return app;
    }
}
