using System.Diagnostics;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.Bench;

/// <summary>The benchmark as a user runs it: a quick run on its own cluster, then its results file.</summary>
public sealed class BenchSpecs : IDisposable
{
    private readonly TempDirectory _directory = new("bench-specs");

    private static string BenchDll =>
        Path.Combine(BuiltArtifacts.RepositoryRoot, "bench", "bin", BuiltArtifacts.Configuration, "net10.0", "EventCluster.Bench.dll");

    [Fact]
    public async Task Should_write_every_figure_of_a_quick_run_with_the_journal_verified()
    {
        var output = Path.Combine(_directory.Path, "quick.json");

        var (code, stdout, stderr) = await RunAsync(TimeSpan.FromMinutes(15), "--quick", "--out", output);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var result = JsonNode.Parse(await File.ReadAllTextAsync(output))!;
        Assert.True((bool)result["quick"]!);
        Assert.Equal(Environment.ProcessorCount, (int)result["machine"]!["cores"]!);
        Assert.True((long)result["machine"]!["memoryMb"]! > 0);
        Assert.False(string.IsNullOrEmpty((string?)result["commit"]));
        Assert.True((double)result["rawAsksPerSecond"]! > 0);
        Assert.True((double)result["durableEventsPerSecond"]! > 0);
        Assert.Equal(0, (long)result["verification"]!["lost"]!);
        Assert.Equal(0, (long)result["verification"]!["duplicated"]!);
        Assert.True((long)result["verification"]!["acked"]! > 0);
        foreach (var percentile in new[] { "p50", "p95", "p99" })
            Assert.True((double)result["halfLoad"]!["latencyMs"]![percentile]! > 0, percentile);
        var trials = result["failoverSeconds"]!["trials"]!.AsArray();
        Assert.Equal(2, trials.Count);
        Assert.All(trials, t => Assert.InRange((double)t!, 0.1, 90));
        Assert.Equal(100_000, (long)result["scale"]!["entities"]!);
        Assert.True((bool)result["scale"]!["scaledDown"]!);
        Assert.Equal(100_000, (long)result["scale"]!["acknowledged"]!);
        Assert.All(result["scale"]!["peakRssMbByNode"]!.AsArray(), rss => Assert.True((long)rss! > 0));
        var table = await File.ReadAllTextAsync(Path.ChangeExtension(output, ".md"));
        Assert.Contains("| Durable ÷ raw |", table);
        Assert.Contains("| Measure | Result | Target | |", stdout);
    }

    [Fact]
    public async Task Should_write_every_listener_figure_of_a_quick_run()
    {
        var output = Path.Combine(_directory.Path, "listeners.json");

        var (code, stdout, stderr) = await RunAsync(TimeSpan.FromMinutes(15), "--quick", "--listeners", "--out", output);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var listeners = JsonNode.Parse(await File.ReadAllTextAsync(output))!["listeners"]!;
        var live = listeners["liveLatency"]!;
        Assert.Equal(50_000, (long)live["acknowledged"]!);
        Assert.Equal(0, (long)live["missing"]!);
        Assert.True((double)live["p50Ms"]! > 0 && (double)live["p99Ms"]! >= (double)live["p50Ms"]!);
        var streams = listeners["sseSubscribers"]!;
        Assert.Equal(100, (long)streams["subscribers"]!);
        Assert.Equal(100, (long)streams["subscribersWithEveryEvent"]!);
        Assert.True((double)streams["nodeCpuSecondsWithStreams"]! > 0);
        var catchUp = listeners["catchUp"]!;
        Assert.Equal(200_000, (long)catchUp["events"]!);
        Assert.True((bool)catchUp["positionsIncrease"]!);
        Assert.True((double)catchUp["eventsPerSecond"]! > 0);
        Assert.Contains("| Live delivery", await File.ReadAllTextAsync(Path.ChangeExtension(output, ".md")));
    }

    [Fact]
    public async Task Should_refuse_to_run_without_a_results_file()
    {
        var (code, _, stderr) = await RunAsync(TimeSpan.FromMinutes(1), "--quick");

        Assert.Equal(2, code);
        Assert.Contains("--out FILE is required", stderr);
    }

    public void Dispose() => _directory.Dispose();

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = BuiltArtifacts.RepositoryRoot };
        start.ArgumentList.Add(BenchDll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        var process = ChildProcesses.Start(start);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            ChildProcesses.Kill(process);
            throw new TimeoutException($"the benchmark did not finish within {timeout.TotalMinutes:0} minutes:\n{await stdout}");
        }

        ChildProcesses.Forget(process);
        return (process.ExitCode, await stdout, await stderr);
    }
}
