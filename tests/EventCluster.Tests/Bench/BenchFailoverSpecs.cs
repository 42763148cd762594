using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.Bench;

/// <summary>
/// The benchmark's failover run as a user runs it (<c>--smoke --failover</c>): a short durable
/// round, the false-downing check at half of it, one crash-failover trial. Unlike the other
/// benchmark runs it keeps both cores busy only for seconds and otherwise waits for failure
/// detectors, so it runs with the membership specs rather than with the long benchmark runs.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class BenchFailoverSpecs(ITestOutputHelper testOutput) : TimingSensitiveSpec, IDisposable
{
    private readonly TempDirectory _directory = new("bench-failover-specs");

    [Fact]
    public async Task Should_report_no_false_downing_at_half_load_and_a_crash_failover_in_a_failover_smoke_run()
    {
        var output = Path.Combine(_directory.Path, "failover.json");

        var (code, stdout, stderr) = await BenchSpecs.RunAsync(TimeSpan.FromMinutes(10), "--smoke", "--failover", "--out", output);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        var result = JsonNode.Parse(await File.ReadAllTextAsync(output))!;
        testOutput.WriteLine(result.ToJsonString());
        var failover = result["failover"]!;
        var durable = BenchSpecs.D(failover["durableEventsPerSecond"]);
        Assert.True(durable >= 1_000, $"durable {durable}/s");

        // Half of saturation for the smoke run's 20 s, with three healthy nodes: nobody suspected.
        var check = failover["falseDowning"]!;
        Assert.Equal(20, (int)check["seconds"]!);
        Assert.InRange(BenchSpecs.D(check["offeredPerSecond"]), durable / 2 - 1, durable / 2 + 1);
        Assert.InRange(BenchSpecs.D(check["eventsPerSecond"]), 0.6 * BenchSpecs.D(check["offeredPerSecond"]), 1.01 * BenchSpecs.D(check["offeredPerSecond"]));
        Assert.True(check["examples"]!.AsArray().Count == 0, check.ToJsonString());
        Assert.Equal(0, (int)check["unreachableLines"]!);
        Assert.Equal(0, (int)check["downedLines"]!);
        // Three nodes asked about once a second for 20 s: the watch really looked.
        Assert.InRange((int)check["clusterViews"]!, 15, 70);
        Assert.Equal(0, (int)check["clusterViewsWithASuspectedMember"]!);
        Assert.True((bool)check["passed"]!);

        var trial = BenchSpecs.D(failover["failoverSeconds"]!["trials"]!.AsArray().Single());
        Assert.InRange(trial, 2, 30);
        Assert.Equal(Math.Round(trial, 1), Math.Round(BenchSpecs.D(failover["failoverSeconds"]!["max"]), 1));
        Assert.Contains("| False downing:", await File.ReadAllTextAsync(Path.ChangeExtension(output, ".md")));
    }

    public void Dispose() => _directory.Dispose();
}
