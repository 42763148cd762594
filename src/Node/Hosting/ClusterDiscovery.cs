using System.Net;
using System.Net.Sockets;
using Akka;
using Akka.Actor;
using Akka.Discovery.Config.Hosting;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management;
using Akka.Management.Dsl;
using Akka.Management.Cluster.Bootstrap;

namespace EventCluster.Node.Hosting;

/// <summary>
/// How a node finds the others when discovery replaces the static seed list: Akka.Management's
/// cluster bootstrap, whose contact points come from config discovery (a fixed list of the nodes'
/// management endpoints) or from the Kubernetes API (the running pods a label selector picks).
/// The nodes probe each other's management endpoints; the one with the lowest address forms the
/// cluster once <see cref="RequiredContactPoints"/> of them answer and the set of contact points
/// has not changed for <see cref="StableMargin"/>, and every later node joins the members it is told of.
/// </summary>
public sealed record ClusterDiscovery(
    string Method,
    int ManagementPort,
    IReadOnlyList<string> Endpoints,
    string? LabelSelector,
    int RequiredContactPoints,
    TimeSpan StableMargin)
{
    /// <summary>Contact points from a fixed list of management endpoints.</summary>
    public const string Config = "config";

    /// <summary>Contact points from the Kubernetes API: the running pods that a label selector picks.</summary>
    public const string Kubernetes = "kubernetes";

    /// <summary>The methods <c>--discovery</c> takes.</summary>
    public static readonly IReadOnlyList<string> Methods = [Config, Kubernetes];

    /// <summary>Akka.Management's own default port.</summary>
    public const int DefaultManagementPort = 8558;

    /// <summary>The pods of the manifests under deploy/kubernetes/ carry this label.</summary>
    public const string DefaultLabelSelector = "app.kubernetes.io/name=eventcluster";

    // The name config discovery lists the endpoints under; the Kubernetes selector does not use it.
    private const string ServiceName = "eventcluster";

    /// <summary>Whom this node asks to let it in, for the log.</summary>
    public string Description => Method == Config
        ? $"config discovery of {string.Join(",", Endpoints)} (management port {ManagementPort})"
        : $"Kubernetes pods {LabelSelector} (management port {ManagementPort})";

    /// <summary>
    /// Adds the management endpoint on <paramref name="host"/> (bound to <paramref name="bindHost"/>), the
    /// bootstrap and the discovery method to <paramref name="builder"/>; both start with the actor system.
    /// </summary>
    internal void AddTo(AkkaConfigurationBuilder builder, string host, string bindHost)
    {
        builder
            .WithAkkaManagement(new AkkaManagementOptions
            {
                HostName = host,
                Port = ManagementPort,
                BindHostName = bindHost,
                BindPort = ManagementPort,
            })
            .WithClusterBootstrap(options =>
            {
                options.ContactPointDiscovery.ServiceName = ServiceName;
                options.ContactPointDiscovery.RequiredContactPointsNr = RequiredContactPoints;
                options.ContactPointDiscovery.StableMargin = StableMargin;
                // By default the bootstrap keeps, of several contact points on one host, only the one on
                // its own management port: that would drop every other node of a cluster on one machine.
                options.ContactPoint.FilterOnFallbackPort = false;
            }, autoStart: false);

        if (Method == Config)
            builder.WithConfigDiscovery(options => options.Services.Add(new Service { Name = ServiceName, Endpoints = [.. Endpoints] }));
        else
            builder.WithKubernetesDiscovery(options => options.PodLabelSelector = LabelSelector);

        // Started here rather than through akka.extensions, whose failure only logs and terminates the
        // actor system (the node would exit as after a graceful leave): a node that the others cannot
        // find must say why and exit 1.
        builder.AddStartup(async (system, _) =>
        {
            try
            {
                await StartAsync(system, host, bindHost);
            }
            catch (Exception ex)
            {
                await NodeLifetime.StopForFailureAsync(system,
                    $"cluster bootstrap could not start its management endpoint {bindHost}:{ManagementPort}: {ex.GetBaseException().Message}");
            }
        });
    }

    private async Task StartAsync(ActorSystem system, string host, string bindHost)
    {
        var bootstrap = ClusterBootstrap.Get(system);
        // Tells the bootstrap its own contact point (this node's entry among the discovered ones); the
        // routes it returns are served by BootstrapEndpoint instead.
        bootstrap.Routes(ManagementRouteProviderSettings.Create(new Uri($"http://{host}:{ManagementPort}/"), true));
        var address = IPAddress.TryParse(bindHost, out var ip)
            ? ip
            : (await Dns.GetHostAddressesAsync(bindHost)).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        var endpoint = await BootstrapEndpoint.StartAsync(system, new IPEndPoint(address, ManagementPort),
            system.Settings.Config.GetInt("akka.management.cluster.bootstrap.contact-point.max-seed-nodes-to-expose", 5));
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceUnbind, "stop-management-endpoint", async () =>
        {
            await endpoint.DisposeAsync();
            return Done.Instance;
        });
        await bootstrap.Start();
    }
}
