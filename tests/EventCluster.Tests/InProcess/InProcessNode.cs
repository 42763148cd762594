using Akka.Actor;
using Akka.Hosting;
using EventCluster.Node.Entities;
using EventCluster.Node.Hosting;
using EventCluster.Node.Journal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventCluster.Tests.InProcess;

/// <summary>A full EventCluster node hosted inside the test process, wired exactly as the real node.</summary>
public sealed class InProcessNode : IAsyncDisposable
{
    private readonly IHost _host;

    private InProcessNode(IHost host, NodeSettings settings)
    {
        _host = host;
        Settings = settings;
    }

    /// <summary>The node's settings.</summary>
    public NodeSettings Settings { get; }

    /// <summary>The node's actor system.</summary>
    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();

    /// <summary>The node's cluster extension.</summary>
    public Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(System);

    /// <summary>The node's entity shard region.</summary>
    public IActorRef Region => ActorRegistry.For(System).Get<EntityRegion>();

    /// <summary>Starts a node on <paramref name="port"/> with the given seeds and journal.</summary>
    public static async Task<InProcessNode> StartAsync(int port, IReadOnlyList<int> seedPorts, string journalFile, string dataRoot)
    {
        var settings = new NodeSettings("127.0.0.1", "127.0.0.1", port, 0,
            seedPorts.Select(p => $"127.0.0.1:{p}").ToList(),
            JournalSettings.Parse($"sqlite:{journalFile}"),
            Path.Combine(dataRoot, $"node-{port}"));
        await JournalBootstrap.PrepareAsync(settings.Journal, CancellationToken.None);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
        builder.ConfigureEventClusterNode(settings);
        builder.Logging.ClearProviders();
        var host = builder.Build();
        await host.StartAsync();
        return new InProcessNode(host, settings);
    }

    /// <summary>Leaves the cluster gracefully and stops.</summary>
    public Task StopAsync() => _host.StopAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
