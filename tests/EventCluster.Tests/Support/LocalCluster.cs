using System.Text.Json.Nodes;

namespace EventCluster.Tests.Support;

/// <summary>
/// A cluster of real node processes on this machine sharing one SQLite journal file, the first
/// two of them seeds. Disposing it kills every node it started.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("eventcluster-cluster");

    private LocalCluster()
    {
        Journal = $"sqlite:{Path.Combine(_directory.Path, "journal.db")}";
    }

    /// <summary>The journal every node uses.</summary>
    public string Journal { get; }

    /// <summary>The nodes started, in order.</summary>
    public List<NodeProcess> Nodes { get; } = [];

    /// <summary>The seed endpoints (host:port).</summary>
    public List<string> Seeds { get; } = [];

    /// <summary>A scratch folder that is removed with the cluster.</summary>
    public string ScratchPath => _directory.Path;

    /// <summary>--seeds for the client.</summary>
    public string SeedList => string.Join(",", Seeds);

    /// <summary>Starts <paramref name="count"/> nodes and waits until all are Up.</summary>
    public static async Task<LocalCluster> StartAsync(int count)
    {
        var cluster = new LocalCluster();
        try
        {
            var ports = Enumerable.Range(0, count).Select(_ => FreePorts.Next()).ToList();
            cluster.Seeds.AddRange(ports.Take(2).Select(p => $"127.0.0.1:{p}"));
            foreach (var port in ports)
                cluster.StartNode(port);
            await cluster.WaitForMembersUpAsync(count, TimeSpan.FromSeconds(90));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The Akka.Remote ports of the nodes, in start order.</summary>
    public IReadOnlyList<int> Ports => Nodes.Select(n => n.Port).Distinct().ToList();

    /// <summary>Starts one more node (or restarts one on its old port).</summary>
    public NodeProcess StartNode(int port)
    {
        var node = NodeProcess.StartNode(port, FreePorts.Next(), Seeds, Journal, Path.Combine(_directory.Path, $"node-{port}"));
        Nodes.Add(node);
        return node;
    }

    /// <summary>Runs the client against this cluster's seeds.</summary>
    public Task<ClientRun> ClientAsync(params string[] arguments) =>
        ClientRun.RunAsync(arguments.Concat(["--seeds", SeedList]));

    /// <summary>The cluster status as the client reports it (--json).</summary>
    public async Task<JsonNode> StatusAsync()
    {
        var run = await ClientAsync("status", "--json", "--timeout", "10");
        return run.ExitCode == 0 ? run.Json : throw new InvalidOperationException(run.ToString());
    }

    /// <summary>Waits until the cluster reports exactly <paramref name="count"/> members, all Up.</summary>
    public Task WaitForMembersUpAsync(int count, TimeSpan timeout) =>
        Poll.UntilAsync(async () =>
        {
            var members = (await StatusAsync())["members"]!.AsArray();
            return members.Count == count && members.All(m => (string?)m!["status"] == "Up");
        }, timeout, $"{count} members Up", TimeSpan.FromSeconds(1));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.DisposeAsync();
        _directory.Dispose();
    }
}
