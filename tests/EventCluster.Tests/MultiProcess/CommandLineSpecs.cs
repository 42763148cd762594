using System.Diagnostics;
using System.Text.RegularExpressions;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The node's and the benchmark's command lines as a user meets them: generated --help that the
/// README's reference tables match, --version, suggestions for a misspelt option, options taken
/// from their environment variables.
/// </summary>
public sealed partial class CommandLineSpecs
{
    private static string BenchDll =>
        Path.Combine(BuiltArtifacts.RepositoryRoot, "bench", "bin", BuiltArtifacts.Configuration, "net10.0", "EventCluster.Bench.dll");

    [Fact]
    public async Task Should_list_in_the_node_help_exactly_the_options_and_variables_of_the_readme_node_reference()
    {
        var help = await RunAsync(BuiltArtifacts.NodeDll, "--help");

        Assert.True(help.Code == 0, help.ToString());
        var readme = ReadmeTableRows("## Node reference", "## ");
        Assert.Equal(OptionsIn(help.Stdout), readme.SelectMany(row => OptionNames(row[0])).ToHashSet());
        foreach (var row in readme.Where(row => row[1].Length > 0))
        {
            var (option, variable) = (OptionNames(row[0]).Single(), row[1].Trim('`'));
            Assert.True(Regex.IsMatch(help.Stdout, $@"^\s+{Regex.Escape(option)}\s+{Regex.Escape(variable)}\s", RegexOptions.Multiline),
                $"--help pairs {option} with {variable}:\n{help.Stdout}");
        }
    }

    [Fact]
    public async Task Should_list_in_the_bench_help_exactly_the_options_of_the_readme_benchmark_reference()
    {
        var help = await RunAsync(BenchDll, "--help");

        Assert.True(help.Code == 0, help.ToString());
        var readme = ReadmeTableRows("### The benchmark", "### ");
        Assert.Equal(OptionsIn(help.Stdout), readme.SelectMany(row => OptionNames(row[0])).ToHashSet());
    }

    [Fact]
    public async Task Should_print_the_product_version_and_exit_0()
    {
        foreach (var dll in new[] { BuiltArtifacts.NodeDll, BenchDll })
        {
            var version = await RunAsync(dll, "--version");

            Assert.True(version.Code == 0, version.ToString());
            Assert.Matches(@"^\d+\.\d+\.\d+(\+[0-9a-f]+)?$", version.Stdout.Trim());
        }
    }

    [Fact]
    public async Task Should_refuse_a_misspelt_node_option_with_exit_2_and_suggest_the_right_one()
    {
        var run = await RunAsync(BuiltArtifacts.NodeDll, "--prot", "4053");

        Assert.True(run.Code == 2, run.ToString());
        Assert.Contains("EventCluster.Node: unknown option '--prot'", run.Stderr);
        Assert.Matches(@"Did you mean one of the following\?\s+--port\b", run.Stderr);
    }

    [Fact]
    public async Task Should_refuse_a_misspelt_bench_option_with_exit_2_and_suggest_the_right_one()
    {
        var run = await RunAsync(BenchDll, "--qick", "--out", "/tmp/never-written.json");

        Assert.True(run.Code == 2, run.ToString());
        Assert.Contains("bench: unknown option '--qick'", run.Stderr);
        Assert.Matches(@"Did you mean one of the following\?\s+--quick\b", run.Stderr);
    }

    [Theory]
    [InlineData("--downing-check-seconds 60", "--downing-check-seconds belongs to a --failover run")]
    [InlineData("--failover --downing-check-seconds -1", "--downing-check-seconds must be 0 or more")]
    [InlineData("--failover --downing-check-seconds soon", "--downing-check-seconds must be 0 or more")]
    [InlineData("--failover --bulk", "--listeners, --webhooks, --bulk, --limits, --failover, --growth and --scale are separate runs")]
    public async Task Should_refuse_a_false_downing_check_outside_a_failover_run_or_of_negative_length(string options, string error)
    {
        var run = await RunAsync(BenchDll, [.. options.Split(' '), "--out", "/tmp/never-written.json"]);

        Assert.True(run.Code == 2, run.ToString());
        Assert.Contains($"bench: {error}", run.Stderr);
        Assert.False(File.Exists("/tmp/never-written.json"));
    }

    [Theory]
    [InlineData("--prefill-rows 1000", "--prefill-rows belongs to a --growth run")]
    [InlineData("--growth --prefill-rows 0", "--prefill-rows must be a whole number from 1 to 1,000,000,000")]
    [InlineData("--growth --prefill-rows 2000000000", "--prefill-rows must be a whole number from 1 to 1,000,000,000")]
    [InlineData("--growth --prefill-rows many", "--prefill-rows must be a whole number from 1 to 1,000,000,000")]
    [InlineData("--growth --bulk", "--listeners, --webhooks, --bulk, --limits, --failover, --growth and --scale are separate runs")]
    public async Task Should_refuse_a_prefill_outside_a_growth_run_or_of_no_rows(string options, string error)
    {
        var run = await RunAsync(BenchDll, [.. options.Split(' '), "--out", "/tmp/never-written-growth.json"]);

        Assert.True(run.Code == 2, run.ToString());
        Assert.Contains($"bench: {error}", run.Stderr);
        Assert.False(File.Exists("/tmp/never-written-growth.json"));
    }

    [Theory]
    [InlineData("--scale 0", "--scale must be a whole number of entities from 1 to 2,147,483,647")]
    [InlineData("--scale 3000000000", "--scale must be a whole number of entities from 1 to 2,147,483,647")]
    [InlineData("--scale lots", "--scale must be a whole number of entities from 1 to 2,147,483,647")]
    [InlineData("--scale --growth", "--listeners, --webhooks, --bulk, --limits, --failover, --growth and --scale are separate runs")]
    public async Task Should_refuse_a_memory_run_of_no_entities_or_beside_another_run(string options, string error)
    {
        var run = await RunAsync(BenchDll, [.. options.Split(' '), "--out", "/tmp/never-written-scale.json"]);

        Assert.True(run.Code == 2, run.ToString());
        Assert.Contains($"bench: {error}", run.Stderr);
        Assert.False(File.Exists("/tmp/never-written-scale.json"));
    }

    [Fact]
    public async Task Should_check_a_value_from_an_environment_variable_like_one_from_the_command_line()
    {
        await using var node = NodeProcess.Start([], environment: new Dictionary<string, string> { ["EVENTCLUSTER_MAX_STREAMS"] = "0" });

        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        Assert.Contains(node.Lines, line => line.Contains("--max-streams '0' must be a whole number from 1 to 100000"));
    }

    [Fact]
    public async Task Should_take_an_option_from_its_environment_variable_and_prefer_the_command_line()
    {
        using var directory = new TempDirectory("eventcluster-env");
        var port = FreePorts.Next();
        await using var node = NodeProcess.Start(
            ["--seeds", $"127.0.0.1:{port}", "--journal", $"sqlite:{directory.Path}/journal.db", "--data-dir", Path.Combine(directory.Path, "data")],
            port, 0, environment: new Dictionary<string, string>
            {
                ["EVENTCLUSTER_PORT"] = port.ToString(),
                ["EVENTCLUSTER_HTTP_PORT"] = "0",
                ["EVENTCLUSTER_DATA_DIR"] = "/nonexistent/overridden-by-the-command-line",
            });

        await Poll.UntilAsync(() => node.LinesMatching($@"MemberUp member=127\.0\.0\.1:{port}").Count > 0, TimeSpan.FromSeconds(60),
            "the node on the port from EVENTCLUSTER_PORT to be Up");

        Assert.Contains(node.Lines, line => line.Contains($"Starting node akka.tcp://eventcluster@127.0.0.1:{port} ") &&
                                            line.Contains("HTTP off") && line.Contains(Path.Combine(directory.Path, "data")));
        node.Terminate();
        Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The long option names of the Options section of a --help output.</summary>
    private static HashSet<string> OptionsIn(string help)
    {
        var options = help[help.IndexOf("Options:", StringComparison.Ordinal)..];
        var end = options.IndexOf("\n\n", StringComparison.Ordinal);
        return OptionLine().Matches(end < 0 ? options : options[..end]).Select(m => m.Groups[1].Value).ToHashSet();
    }

    private static IEnumerable<string> OptionNames(string cell) => LongOption().Matches(cell).Select(m => m.Value);

    /// <summary>The rows (cells without their pipes) of the option tables in a README section.</summary>
    private static List<string[]> ReadmeTableRows(string heading, string nextHeading)
    {
        var readme = File.ReadAllText(Path.Combine(BuiltArtifacts.RepositoryRoot, "README.md"));
        var start = readme.IndexOf($"\n{heading}\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README has a '{heading}' section");
        var section = readme[(start + heading.Length + 2)..];
        var end = section.IndexOf($"\n{nextHeading}", StringComparison.Ordinal);
        return (end < 0 ? section : section[..end]).Split('\n')
            .Where(line => line.StartsWith("| `-", StringComparison.Ordinal))
            .Select(line => line.Trim('|').Split('|').Select(cell => cell.Trim()).ToArray())
            .ToList();
    }

    private static async Task<Run> RunAsync(string dll, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetTempPath() };
        startInfo.ArgumentList.Add(dll);
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        var process = ChildProcesses.Start(startInfo);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            ChildProcesses.Kill(process);
            throw new TimeoutException($"{Path.GetFileName(dll)} {string.Join(" ", arguments)} did not finish within a minute");
        }

        ChildProcesses.Forget(process);
        return new Run(process.ExitCode, await stdout, await stderr);
    }

    private sealed record Run(int Code, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {Code}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
    }

    [GeneratedRegex(@"^\s+(?:-\S+, )*(--[a-z][a-z-]*)", RegexOptions.Multiline)]
    private static partial Regex OptionLine();

    [GeneratedRegex(@"--[a-z][a-z-]*")]
    private static partial Regex LongOption();
}
