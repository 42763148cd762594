using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// TLS with mutual authentication between nodes and clients: holders of the cluster's
/// certificate work together; a node or client without it, or with another one, stays out.
/// </summary>
public sealed class TlsSpecs
{
    [Fact]
    public async Task Should_let_only_holders_of_the_clusters_certificate_join_and_send()
    {
        using var certificates = new TempDirectory("eventcluster-tls");
        var (pfx, password) = await CreateCertificateAsync(certificates.Path);
        var (otherPfx, otherPassword) = await CreateCertificateAsync(Path.Combine(certificates.Path, "other"));
        string[] tls = ["--tls-certificate", pfx, "--tls-password", password];

        await using var cluster = await LocalCluster.StartAsync(2, securityArguments: tls);
        var sent = await cluster.ClientAsync("send", "--entity", "tls-1", "--type", "t", "--json");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.Equal(1, (int)sent.Json["version"]!);

        // Without the certificate, or with another cluster's, neither a client nor a node gets in.
        var plainClient = await ClientRun.RunAsync(["status", "--seeds", cluster.SeedList, "--timeout", "5"]);
        Assert.Equal(3, plainClient.ExitCode);
        var strangerClient = await ClientRun.RunAsync(["status", "--seeds", cluster.SeedList, "--timeout", "5",
            "--tls-certificate", otherPfx, "--tls-password", otherPassword]);
        Assert.Equal(3, strangerClient.ExitCode);
        var plainNode = cluster.StartNode(FreePorts.Next(), "127.0.0.1", null, securityArguments: []);
        var strangerNode = cluster.StartNode(FreePorts.Next(), "127.0.0.1", null,
            securityArguments: ["--tls-certificate", otherPfx, "--tls-password", otherPassword]);
        // A node with another certificate fails the handshake and stops with a clear error; one
        // without TLS cannot even speak to the seeds and keeps saying it is not let in.
        Assert.Equal(1, await strangerNode.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.NotEmpty(strangerNode.LinesMatching("TLS handshake with another node failed"));
        await Poll.UntilAsync(() => plainNode.LinesMatching("NotJoined").Count > 0, TimeSpan.FromSeconds(60),
            "the node without TLS to report that it is not let in");

        var members = (await cluster.StatusAsync())["members"]!.AsArray();
        Assert.Equal(2, members.Count);
        Assert.DoesNotContain(members, m => ((string)m!["address"]!).EndsWith($":{plainNode.Port}", StringComparison.Ordinal));
        var get = await cluster.ClientAsync("get", "--entity", "tls-1", "--json");
        Assert.True(get.ExitCode == 0, get.ToString());
    }

    [Fact]
    public async Task Should_refuse_to_start_a_node_whose_certificate_cannot_be_opened()
    {
        using var certificates = new TempDirectory("eventcluster-tls");
        var (pfx, _) = await CreateCertificateAsync(certificates.Path);

        var node = NodeProcess.Start(["--port", FreePorts.Next().ToString(), "--tls-certificate", pfx, "--tls-password", "wrong"]);
        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var client = await ClientRun.RunAsync(["status", "--tls-certificate", Path.Combine(certificates.Path, "missing.pfx")]);

        Assert.Equal(2, exitCode);
        Assert.Contains(node.Lines, line => line.Contains("cannot be opened"));
        Assert.Equal(2, client.ExitCode);
        Assert.Contains("does not exist", client.Stderr);
    }

    /// <summary>Runs <c>eventcluster certs create</c> and returns the .pfx path and its password.</summary>
    private static async Task<(string Pfx, string Password)> CreateCertificateAsync(string directory)
    {
        var created = await ClientRun.RunAsync(["certs", "create", "--out", directory]);
        Assert.True(created.ExitCode == 0, created.ToString());
        var pfx = Path.Combine(directory, "eventcluster.pfx");
        return (pfx, File.ReadAllText(pfx + ".password").Trim());
    }
}
