using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>Failures a user meets before any cluster runs: unreachable seeds, bad node options, an unusable journal.</summary>
public sealed class StandaloneProcessSpecs
{
    [Fact]
    public async Task Should_exit_3_with_a_clear_error_when_no_seed_is_reachable()
    {
        var nobody = $"127.0.0.1:{FreePorts.Next()}";

        var run = await ClientRun.RunAsync(["status", "--seeds", nobody, "--timeout", "3"]);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("no answer from the cluster", run.Stderr);
        Assert.Contains(nobody, run.Stderr);
    }

    [Theory]
    [InlineData("--port 70000", "--port '70000' is not a port")]
    [InlineData("--seeds localhost", "seed 'localhost' is not host:port")]
    [InlineData("--journal mysql:db", "must start with sqlite: or postgres:")]
    [InlineData("--colour red", "unknown option '--colour'")]
    public async Task Should_refuse_bad_node_options_with_exit_code_2(string arguments, string message)
    {
        await using var node = NodeProcess.Start(arguments.Split(' '));

        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(node.Lines, line => line.Contains(message));
    }

    [Fact]
    public async Task Should_stop_with_a_clear_fatal_error_when_the_journal_cannot_be_opened()
    {
        using var directory = new TempDirectory("eventcluster-badjournal");
        var notADirectory = Path.Combine(directory.Path, "plain-file");
        await File.WriteAllTextAsync(notADirectory, "this is a file, not a folder");
        var port = FreePorts.Next();

        await using var node = NodeProcess.Start(["--port", port.ToString(), "--http-port", "0", "--seeds", $"127.0.0.1:{port}",
            "--journal", $"sqlite:{notADirectory}/journal.db", "--data-dir", Path.Combine(directory.Path, "data")]);
        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains(node.Lines, line => line.Contains("Journal unavailable") && line.Contains("journal.db"));
    }

    [Fact]
    public async Task Should_refuse_a_file_that_is_not_a_journal_database()
    {
        using var directory = new TempDirectory("eventcluster-notdb");
        var file = Path.Combine(directory.Path, "journal.db");
        await File.WriteAllTextAsync(file, new string('#', 4096));
        var port = FreePorts.Next();

        await using var node = NodeProcess.Start(["--port", port.ToString(), "--http-port", "0", "--seeds", $"127.0.0.1:{port}",
            "--journal", $"sqlite:{file}", "--data-dir", Path.Combine(directory.Path, "data")]);
        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains(node.Lines, line => line.Contains("Journal unavailable"));
        Assert.Equal(new string('#', 4096), await File.ReadAllTextAsync(file));
    }

    [Fact]
    public async Task Should_leave_gracefully_and_exit_0_on_sigterm()
    {
        using var directory = new TempDirectory("eventcluster-sigterm");
        var port = FreePorts.Next();
        await using var node = NodeProcess.StartNode(port, 0, [$"127.0.0.1:{port}"], $"sqlite:{directory.Path}/journal.db",
            Path.Combine(directory.Path, "data"));
        await Poll.UntilAsync(() => node.LinesMatching($@"MemberUp member=127\.0\.0\.1:{port}").Count > 0,
            TimeSpan.FromSeconds(60), "the node to be Up");

        node.Terminate();
        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        Assert.NotEmpty(node.LinesMatching($@"MemberLeft member=127\.0\.0\.1:{port}"));
    }

    [Fact]
    public async Task Should_keep_trying_and_say_so_when_its_seeds_are_unreachable()
    {
        using var directory = new TempDirectory("eventcluster-noseed");
        var deadSeed = $"127.0.0.1:{FreePorts.Next()}";
        await using var node = NodeProcess.StartNode(FreePorts.Next(), 0, [deadSeed], $"sqlite:{directory.Path}/journal.db",
            Path.Combine(directory.Path, "data"));

        await Poll.UntilAsync(() => node.LinesMatching($"NotJoined .*{deadSeed}").Count > 0, TimeSpan.FromSeconds(45),
            "a NotJoined warning naming the seed");

        Assert.False(node.HasExited);
    }
}
