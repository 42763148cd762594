using EventCluster.Node.Telemetry;
using Microsoft.Extensions.Logging.Console;

namespace EventCluster.Node.Hosting;

/// <summary>Host set-up shared by the node with and without its HTTP endpoints.</summary>
public static class NodeHostBuilderExtensions
{
    /// <summary>One log line per entry on standard output, and the node's actor system.</summary>
    public static IHostApplicationBuilder ConfigureEventClusterNode(this IHostApplicationBuilder builder, NodeSettings settings)
    {
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "HH:mm:ss.fff ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddEventClusterNode(settings);
        builder.AddEventClusterTelemetry(settings.Telemetry);
        return builder;
    }
}
