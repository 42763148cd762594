using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>One three-node cluster of real processes shared by the specs of a class.</summary>
public sealed class ThreeNodeClusterFixture : IAsyncLifetime
{
    private LocalCluster? _cluster;

    /// <summary>The running cluster.</summary>
    public LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("cluster not started");

    public async Task InitializeAsync() => _cluster = await LocalCluster.StartAsync(3);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
    }
}
