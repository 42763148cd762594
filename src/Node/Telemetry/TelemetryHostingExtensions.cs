using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EventCluster.Node.Telemetry;

/// <summary>What the node's telemetry needs to know of the node.</summary>
/// <param name="MetricsEnabled">Metrics are exported (on <c>/metrics</c>, so only when the node serves HTTP).</param>
/// <param name="ServiceInstanceId">The node in exported telemetry: its Akka address.</param>
public sealed record TelemetryOptions(bool MetricsEnabled, string ServiceInstanceId);

/// <summary>
/// The node's OpenTelemetry pipelines: its metrics with the .NET runtime's, the process's and
/// ASP.NET Core's for <c>/metrics</c> (when it serves HTTP), and its traces over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class TelemetryHostingExtensions
{
    /// <summary>The variable that turns the OTLP trace export on (the OTLP exporter reads it, and its siblings, itself).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Adds the pipelines the node's options and environment ask for.</summary>
    public static IHostApplicationBuilder AddEventClusterTelemetry(this IHostApplicationBuilder builder, TelemetryOptions options)
    {
        var metrics = options.MetricsEnabled;
        var traces = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        if (!metrics && !traces)
            return builder;

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("eventcluster-node", serviceInstanceId: options.ServiceInstanceId));
        if (metrics)
        {
            telemetry.WithMetrics(pipeline => pipeline
                .AddMeter(NodeMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddProcessInstrumentation()
                .AddPrometheusExporter(options =>
                {
                    // Every scrape reads fresh figures; Prometheus spaces its scrapes itself.
                    options.ScrapeResponseCacheDurationMilliseconds = 0;
                    // No otel_scope_* labels: each series keeps the labels it had before.
                    options.ScopeInfoEnabled = false;
                }));
            builder.Services.ConfigureOpenTelemetryMeterProvider((services, pipeline) =>
            {
                var own = services.GetRequiredService<IMeterFactory>();
                pipeline.AddView(instrument => View(instrument, own));
            });
        }

        if (traces)
        {
            telemetry.WithTracing(pipeline => pipeline
                .AddSource(NodeTracing.SourceName)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter());
        }

        return builder;
    }

    /// <summary>
    /// Gauges the runtime and process instrumentations name <c>….count</c>: Prometheus reserves
    /// the <c>_count</c> suffix for histograms and summaries (<c>promtool check metrics</c> flags
    /// it), so they are exported under these names.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Renamed = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["dotnet.assembly.count"] = "dotnet.assemblies",
        ["dotnet.process.cpu.count"] = "dotnet.process.cpus",
        ["dotnet.thread_pool.thread.count"] = "dotnet.thread_pool.threads",
        ["dotnet.timer.count"] = "dotnet.timers",
        ["process.thread.count"] = "process.threads",
        ["process.unix.file_descriptor.count"] = "process.unix.file_descriptors",
    };

    private static MetricStreamConfiguration? View(Instrument instrument, IMeterFactory own)
    {
        // Meters are subscribed by name process-wide: another node hosted in the same process has
        // meters of the same names, scoped to its own meter factory. Only this node's are exported.
        if (instrument.Meter.Scope is { } scope && !ReferenceEquals(scope, own))
            return MetricStreamConfiguration.Drop;
        return Renamed.TryGetValue(instrument.Name, out var name) ? new MetricStreamConfiguration { Name = name } : null;
    }
}
