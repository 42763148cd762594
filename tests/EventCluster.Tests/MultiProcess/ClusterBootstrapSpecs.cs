using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Nodes without a seed list form one cluster through Akka.Management's cluster bootstrap over
/// config discovery (the nodes' management endpoints), and the node that formed it, killed with
/// kill -9 and restarted, joins the surviving cluster instead of forming a second one. A node whose
/// management port is taken says so and exits 1.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class ClusterBootstrapSpecs(ITestOutputHelper output) : TimingSensitiveSpec, IAsyncLifetime
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly TempDirectory _directory = new("eventcluster-bootstrap");
    private readonly List<NodeProcess> _nodes = [];

    [Fact]
    public async Task Should_form_one_cluster_without_seeds_and_take_back_the_node_that_formed_it_after_kill_9_and_a_restart()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => (Remote: FreePorts.Next(), Http: FreePorts.Next(), Management: FreePorts.Next())).ToList();
        var endpoints = string.Join(",", ports.Select(p => $"127.0.0.1:{p.Management}"));
        var journal = $"sqlite:{Path.Combine(_directory.Path, "journal.db")}";
        NodeProcess Start((int Remote, int Http, int Management) port) => Started(NodeProcess.Start(
            ["--host", "127.0.0.1", "--port", $"{port.Remote}", "--http-port", $"{port.Http}", "--journal", journal,
             "--data-dir", Path.Combine(_directory.Path, $"node-{port.Remote}"), "--discovery", "config",
             "--management-port", $"{port.Management}", "--discovery-endpoints", endpoints,
             "--required-contact-points", "3", "--stable-margin", "2"],
            port.Remote, port.Http));

        var clock = Stopwatch.StartNew();
        var nodes = ports.Select(Start).ToList();
        await EverySeesUpAsync(nodes, nodes, TimeSpan.FromSeconds(60));
        output.WriteLine($"three nodes Up through config discovery {clock.Elapsed.TotalSeconds:0.0}s after their start");

        // Exactly one node formed the cluster: the bootstrap's choice, the lowest contact point.
        var formers = nodes.Where(n => n.LinesMatching("is JOINING itself .* forming a new cluster").Count > 0).ToList();
        var former = Assert.Single(formers);
        Assert.Same(nodes[ports.IndexOf(ports.MinBy(p => p.Management))], former);
        var entity = $"bootstrap-{Guid.NewGuid():N}";
        await SendAsync(nodes[1], entity, "before-crash");

        clock.Restart();
        former.Kill();
        var survivors = nodes.Where(n => n != former).ToList();
        await EverySeesUpAsync(survivors, survivors, TimeSpan.FromSeconds(40));
        output.WriteLine($"survivors removed the crashed node {clock.Elapsed.TotalSeconds:0.0}s after kill -9");

        clock.Restart();
        var restarted = Start(ports[nodes.IndexOf(former)]);
        var all = survivors.Append(restarted).ToList();
        await EverySeesUpAsync(all, all, TimeSpan.FromSeconds(40));
        output.WriteLine($"restarted node Up in the surviving cluster {clock.Elapsed.TotalSeconds:0.0}s after its start");

        // Joined the running cluster through the survivors' answers, never a cluster of its own.
        Assert.NotEmpty(restarted.LinesMatching("to existing cluster"));
        Assert.Empty(restarted.LinesMatching("is JOINING itself|forming a new cluster"));
        Assert.Empty(restarted.LinesMatching($@"MemberUp member={restarted.Endpoint}( roles=\S+)? \| members=1 "));
        var state = await Http.GetFromJsonAsync<JsonNode>($"http://127.0.0.1:{restarted.HttpPort}/api/entities/{entity}");
        Assert.Equal(1, (int)state!["version"]!);
        await SendAsync(restarted, entity, "after-restart");
    }

    [Fact]
    public async Task Should_stop_with_exit_1_naming_the_management_endpoint_when_its_port_is_taken()
    {
        var management = FreePorts.Next();
        using var squatter = new TcpListener(IPAddress.Loopback, management);
        squatter.Start();
        var port = FreePorts.Next();
        var node = Started(NodeProcess.Start(
            ["--port", $"{port}", "--http-port", "0", "--journal", $"sqlite:{Path.Combine(_directory.Path, "alone.db")}",
             "--data-dir", Path.Combine(_directory.Path, "alone"), "--discovery", "config", "--management-port", $"{management}",
             "--discovery-endpoints", $"127.0.0.1:{management}", "--required-contact-points", "1"], port));

        Assert.Equal(1, await node.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.NotEmpty(node.LinesMatching($"cluster bootstrap could not start its management endpoint 127\\.0\\.0\\.1:{management}: "));
    }

    /// <summary>Waits until each of <paramref name="observers"/> sees exactly <paramref name="members"/> as its members, all Up.</summary>
    private static Task EverySeesUpAsync(IReadOnlyList<NodeProcess> observers, IReadOnlyList<NodeProcess> members, TimeSpan timeout)
    {
        var expected = members.Select(m => m.Address).Order().ToList();
        return Poll.UntilAsync(async () =>
        {
            foreach (var observer in observers)
            {
                var seen = (await LocalCluster.MembersSeenByAsync(observer))?.AsArray();
                if (seen is null || seen.Any(m => (string?)m!["status"] != "Up") ||
                    !seen.Select(m => (string)m!["address"]!).Order().SequenceEqual(expected))
                    return false;
            }

            return true;
        }, timeout, $"every node to see exactly {string.Join(", ", expected)} Up", TimeSpan.FromMilliseconds(500));
    }

    private static async Task SendAsync(NodeProcess node, string entity, string eventId)
    {
        using var response = await Http.PostAsJsonAsync($"http://127.0.0.1:{node.HttpPort}/api/events",
            new { entityId = entity, eventId, type = "bootstrapped", data = new { } });
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private NodeProcess Started(NodeProcess node)
    {
        _nodes.Add(node);
        return node;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        _directory.Dispose();
    }
}
