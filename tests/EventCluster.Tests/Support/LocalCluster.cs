using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Messages.Sharding;

namespace EventCluster.Tests.Support;

/// <summary>
/// A cluster of real node processes on this machine sharing one SQLite journal file, the first
/// two of them seeds. Disposing it kills every node it started.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("eventcluster-cluster");

    private LocalCluster(string? journal = null, IReadOnlyList<string>? securityArguments = null, IReadOnlyList<string>? nodeArguments = null,
        IReadOnlyDictionary<string, string>? nodeEnvironment = null, string? nodeDll = null)
    {
        NodeDll = nodeDll;
        Journal = journal ?? $"sqlite:{Path.Combine(_directory.Path, "journal.db")}";
        SecurityArguments = securityArguments ?? [];
        NodeArguments = nodeArguments ?? [];
        NodeEnvironment = nodeEnvironment ?? new Dictionary<string, string>();
        // The nodes' own token (every scope) when they have one: /api/cluster needs it.
        var tokenAt = NodeArguments.ToList().IndexOf("--api-token");
        _apiToken = tokenAt >= 0 && tokenAt + 1 < NodeArguments.Count ? NodeArguments[tokenAt + 1] : NodeEnvironment.GetValueOrDefault("EVENTCLUSTER_API_TOKEN");
    }

    private readonly string? _apiToken;

    /// <summary>The node program started by <see cref="StartNode(int)"/>: another release's, or (null) the built one.</summary>
    public string? NodeDll { get; set; }

    /// <summary>Environment variables given to every node.</summary>
    public IReadOnlyDictionary<string, string> NodeEnvironment { get; }

    /// <summary>Options given to every node only.</summary>
    public IReadOnlyList<string> NodeArguments { get; }

    /// <summary>Options given to every node and client call (TLS certificate and password).</summary>
    public IReadOnlyList<string> SecurityArguments { get; }

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

    /// <summary>
    /// Starts <paramref name="count"/> nodes and waits until all are Up; on a temporary SQLite
    /// file unless <paramref name="journal"/> names another journal; the nodes of
    /// <paramref name="nodeDll"/> (another release) when given.
    /// </summary>
    public static async Task<LocalCluster> StartAsync(int count, string? journal = null,
        IReadOnlyList<string>? securityArguments = null, IReadOnlyList<string>? nodeArguments = null,
        IReadOnlyDictionary<string, string>? nodeEnvironment = null, string? nodeDll = null)
    {
        var cluster = new LocalCluster(journal, securityArguments, nodeArguments, nodeEnvironment, nodeDll);
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

    /// <summary>
    /// Starts <paramref name="count"/> nodes, node i on <paramref name="topology"/>'s address i in its
    /// own network namespace (all on port 4053, the first two seeds), and waits until all are Up.
    /// </summary>
    public static async Task<LocalCluster> StartAsync(NetworkTopology topology)
    {
        var cluster = new LocalCluster();
        try
        {
            cluster.Seeds.AddRange(topology.Hosts.Take(2).Select(host => $"{host}:{NetworkTopology.NodePort}"));
            for (var i = 0; i < topology.Hosts.Count; i++)
                cluster.StartNode(NetworkTopology.NodePort, topology.Hosts[i], topology.Namespaces[i]);
            await cluster.WaitForMembersUpAsync(topology.Hosts.Count, TimeSpan.FromSeconds(90));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more node (or restarts one on its old port).</summary>
    public NodeProcess StartNode(int port) => StartNode(port, "127.0.0.1", null);

    /// <summary>
    /// Starts one more node on <paramref name="host"/>, inside <paramref name="netns"/> when given,
    /// with <paramref name="securityArguments"/> instead of the cluster's own when given.
    /// </summary>
    public NodeProcess StartNode(int port, string host, string? netns, IReadOnlyList<string>? securityArguments = null)
    {
        var httpPort = netns is null ? FreePorts.Next() : NetworkTopology.NodePort + 1000;
        var node = NodeProcess.StartNode(port, httpPort, Seeds, Journal, Path.Combine(_directory.Path, $"node-{host}-{port}"), host, netns,
            [.. securityArguments ?? SecurityArguments, .. NodeArguments], NodeEnvironment, NodeDll);
        Nodes.Add(node);
        return node;
    }

    /// <summary>The nodes started and still running.</summary>
    public IReadOnlyList<NodeProcess> Running => Nodes.Where(n => !n.HasExited).ToList();

    /// <summary>
    /// The entities of an acknowledged-events file whose shard <paramref name="node"/> hosts now,
    /// each with the version it must answer with (its number of acknowledged events).
    /// </summary>
    public async Task<IReadOnlyList<(string Entity, int Version)>> EntitiesHostedByAsync(NodeProcess node, string ackedFile)
    {
        var shards = (await StatusAsync())["nodes"]!.AsArray()
            .Where(n => ((string)n!["address"]!).EndsWith($"@{node.Endpoint}", StringComparison.Ordinal))
            .SelectMany(n => n!["shardIds"]!.AsArray().Select(id => (string)id!))
            .ToHashSet();
        var extractor = new EntityMessageExtractor();
        return AckedCounts(ackedFile)
            .Where(pair => shards.Contains(extractor.ShardId(pair.Key, null)))
            .Select(pair => (pair.Key, pair.Value))
            .ToList();
    }

    /// <summary>Acknowledged events per entity in a file written by <c>load --acked</c>.</summary>
    public static IReadOnlyDictionary<string, int> AckedCounts(string ackedFile) =>
        File.ReadLines(ackedFile)
            .Where(line => line.Length > 0)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("entityId").GetString()!)
            .GroupBy(entity => entity, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Count(), StringComparer.Ordinal);

    /// <summary>Log lines of every running node matching <paramref name="pattern"/>.</summary>
    public IReadOnlyList<string> SurvivorLinesMatching(string pattern) => Running.SelectMany(n => n.LinesMatching(pattern)).ToList();

    /// <summary>
    /// Waits until another running node has logged shards on <paramref name="node"/>. The shard
    /// reporters log placement every 2 s and report moves between two such lines, so a node that
    /// crashes or leaves before any line showed its shards leaves no move to report.
    /// </summary>
    public Task ShardsOnRecordAsync(NodeProcess node) =>
        Poll.UntilAsync(() => Running.Where(n => n != node).Any(n => n.LinesMatching($@"ShardDistribution .*{node.Endpoint}=[1-9]").Count > 0),
            TimeSpan.FromSeconds(60), $"another node to log shards on {node.Endpoint}");

    /// <summary>Runs the client against this cluster's seeds.</summary>
    public Task<ClientRun> ClientAsync(params string[] arguments) =>
        ClientRun.RunAsync(arguments.Concat(["--seeds", SeedList]).Concat(SecurityArguments));

    /// <summary>Verifies an acknowledged-events file and asserts nothing was lost, doubled or unexpected.</summary>
    public async Task<JsonNode> AssertVerifiedAsync(string ackedFile, int expectedAcked)
    {
        var verify = await ClientAsync("verify", "--acked", ackedFile, "--json");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(expectedAcked, (int)verify.Json["acked"]!);
        Assert.Equal(0, (int)verify.Json["lost"]!);
        Assert.Equal(0, (int)verify.Json["duplicated"]!);
        Assert.Equal(0, (int)verify.Json["unexpected"]!);
        Assert.Equal(0, (int)verify.Json["gaps"]!);
        return verify.Json;
    }

    /// <summary>The cluster status as the client reports it (--json).</summary>
    public async Task<JsonNode> StatusAsync()
    {
        var run = await ClientAsync("status", "--json", "--timeout", "10");
        return run.ExitCode == 0 ? run.Json : throw new InvalidOperationException(run.ToString());
    }

    /// <summary>
    /// Waits until the cluster reports exactly <paramref name="count"/> members, all Up, as a
    /// running node's <c>/api/cluster</c> answers. Asked over HTTP rather than through
    /// <c>eventcluster status</c>, which starts a client process (an actor system of its own)
    /// for every poll: the specs start clusters often enough for that to dominate the suite's CPU.
    /// </summary>
    public Task WaitForMembersUpAsync(int count, TimeSpan timeout) =>
        Poll.UntilAsync(async () =>
        {
            foreach (var node in Running.Where(n => n.HttpPort > 0))
            {
                var members = (await MembersSeenByAsync(node, _apiToken))?.AsArray();
                if (members is not null)
                    return members.Count == count && members.All(m => (string?)m!["status"] == "Up");
            }

            return false;
        }, timeout, $"{count} members Up", TimeSpan.FromMilliseconds(500));

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The members <paramref name="node"/> sees; null while it does not answer.</summary>
    public static async Task<JsonNode?> MembersSeenByAsync(NodeProcess node, string? apiToken = null)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{node.Host}:{node.HttpPort}/api/cluster");
            if (apiToken is not null)
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiToken);
            using var response = await Http.SendAsync(request);
            return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync())?["members"] : null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
            await node.DisposeAsync();
        _directory.Dispose();
    }
}
