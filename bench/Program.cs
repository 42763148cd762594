using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Bench;

// dotnet run -c Release --project bench -- [--quick | --smoke] [--listeners | --webhooks | --bulk | --limits | --failover | --growth [--prefill-rows N] | --scale [N]] --out FILE [--journal JOURNAL] [--keep-work] [--no-build]; --help lists them.
var commandLine = BenchCommandLine.Parse(args);
if (commandLine.Errors.Count == 0 && commandLine.Action is not null)
    return commandLine.Invoke(); // --help or --version
if (BenchCommandLine.FirstError(commandLine) is { } problem)
{
    Console.Error.WriteLine($"bench: {problem}");
    BenchCommandLine.WriteSuggestions(commandLine, Console.Error);
    Console.Error.WriteLine("See --help for the options.");
    return 2;
}

var outPath = commandLine.GetRequiredValue(BenchCommandLine.Out);
var smoke = commandLine.GetValue(BenchCommandLine.Smoke);
var quick = smoke || commandLine.GetValue(BenchCommandLine.Quick);
var keepWork = commandLine.GetValue(BenchCommandLine.KeepWork);
var listeners = commandLine.GetValue(BenchCommandLine.Listeners);
var webhooks = commandLine.GetValue(BenchCommandLine.Webhooks);
var bulk = commandLine.GetValue(BenchCommandLine.Bulk);
var limits = commandLine.GetValue(BenchCommandLine.Limits);
var failoverRun = commandLine.GetValue(BenchCommandLine.Failover);
var growth = commandLine.GetValue(BenchCommandLine.Growth);
var scaleRun = commandLine.GetResult(BenchCommandLine.Scale) is not null;
var journalOption = commandLine.GetValue(BenchCommandLine.Journal);

var plan = smoke ? BenchPlan.Smoke : quick ? BenchPlan.Quick : BenchPlan.Full;
// Requests in flight from the one client process, for raw and durable alike: enough that a
// node's group commit carries hundreds of events (at 256, durable saturates about a quarter lower).
const int Concurrency = 1024;
var repository = Repository.Find();
var workDir = Path.Combine(Path.GetTempPath(), $"eventcluster-bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
Directory.CreateDirectory(workDir);
var journal = journalOption is null or "sqlite" ? $"sqlite:{Path.Combine(workDir, "journal.db")}" : journalOption;
var runId = Guid.NewGuid().ToString("N")[..6];
var total = Stopwatch.StartNew();
var console = BenchConsole.Create(total);

console.Say($"EventCluster benchmark ({plan.Name}), work directory {workDir}");
if (commandLine.GetValue(BenchCommandLine.NoBuild))
{
    if (repository.UseBuilt() is { } missing)
    {
        Console.Error.WriteLine($"bench: {missing}");
        return 2;
    }
}
else
{
    console.Say("building node and client (Release)...");
    await repository.BuildAsync();
}
var commit = await repository.CommitAsync();

BenchCluster? cluster = null;
Console.CancelKeyPress += (_, _) => cluster?.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
try
{
    return await console.RunAsync(async () =>
    {
        console.Say($"starting 3 nodes on journal {(journal.StartsWith("sqlite:", StringComparison.Ordinal) ? journal : "postgres")}...");
        cluster = await BenchCluster.StartAsync(repository, journal, workDir, limits ? Limits.NodeArguments : null);
        console.Say($"cluster settled: 3 members Up, 100 shards placed (ports {string.Join(",", cluster.Ports)})");
        var seeds = cluster.Seeds;
        var loadTimeout = TimeSpan.FromMinutes(30);
        if (webhooks || listeners || bulk || limits || failoverRun || growth || scaleRun)
        {
            // One part of the product on a warmed-up cluster: its own figures and table.
            console.Say("warming up...");
            await repository.ClientJsonAsync(seeds, loadTimeout, "load", "--entities", "1000", "--events", plan.WarmUp.ToString());
            var (part, figures) = webhooks ? ("webhooks", await Webhooks.RunAsync(repository, cluster, workDir, plan, console.Say))
                : bulk ? ("bulk", await Bulk.RunAsync(repository, cluster, workDir, plan, console.Say))
                : limits ? ("limits", await Limits.RunAsync(cluster, plan, console.Say))
                : failoverRun ? ("failover", await Failover.RunAsync(repository, cluster, plan,
                    commandLine.GetValue(BenchCommandLine.DowningCheckSeconds) ?? plan.DowningCheckSeconds, console.Say))
                : scaleRun ? ("scale", await Scale.RunAsync(repository, cluster, commandLine.GetValue(BenchCommandLine.Scale) ?? Scale.DefaultEntities, null,
                    runId, console.Say))
                : growth ? ("growth", await Growth.RunAsync(repository, cluster, journal,
                    commandLine.GetValue(BenchCommandLine.PrefillRows) ?? Growth.DefaultPrefillRows(plan), Concurrency, plan, console.Say))
                : ("listeners", await Listeners.RunAsync(repository, cluster, workDir, plan, console.Say));
            var partResult = new JsonObject
            {
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                ["commit"] = commit,
                ["quick"] = quick,
                ["smoke"] = smoke,
                ["configuration"] = repository.Configuration,
                ["machine"] = Machine.Describe(),
                ["journal"] = journal.StartsWith("sqlite:", StringComparison.Ordinal) ? "sqlite" : "postgres",
                [part] = figures,
                ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1),
            };
            await WriteResultsAsync(partResult, webhooks ? Report.Webhooks(partResult) : bulk ? Report.Bulk(partResult)
                : limits ? Report.Limits(partResult)
                : failoverRun ? Report.Failover(partResult) : scaleRun ? Report.Scale(partResult) : growth ? Growth.Table(partResult) : Report.Listeners(partResult));
            return 0;
        }

        async Task<JsonNode> Load(string label, params string[] options)
        {
            var summary = await repository.ClientJsonAsync(seeds, loadTimeout,
                ["load", "--entities", "1000", "--concurrency", Concurrency.ToString(), .. options]);
            console.Say($"{label}: {(double)summary["eventsPerSecond"]!:N0}/s, p50 {(double)summary["latencyMs"]!["p50"]!:0.0} ms, " +
                $"p99 {(double)summary["latencyMs"]!["p99"]!:0.0} ms");
            return summary;
        }

        console.Say("warming up (echo and events)...");
        await Load("warm-up echo", "--echo", "--events", plan.WarmUp.ToString());
        await Load("warm-up events", "--events", plan.WarmUp.ToString());

        // Raw and durable alternate, so drift of the machine affects both alike.
        var raw = new List<double>();
        var durable = new List<double>();
        var durableLatency = new List<JsonNode>();
        for (var round = 1; round <= plan.Rounds; round++)
        {
            raw.Add((double)(await Load($"raw round {round}", "--echo", "--events", plan.RawEvents.ToString()))["eventsPerSecond"]!);
            var summary = await Load($"durable round {round}", "--events", plan.DurableEvents.ToString());
            durable.Add((double)summary["eventsPerSecond"]!);
            durableLatency.Add(summary["latencyMs"]!.DeepClone());
        }

        // The same load once more with every acknowledgement recorded (which costs the client a file
        // write per event, so it is not timed), then read back from the journal: the figures above
        // are worth nothing unless every acknowledged event is there exactly once.
        var acked = Path.Combine(workDir, "verified.jsonl");
        await Load("verification round (recorded)", "--events", plan.DurableEvents.ToString(), "--acked", acked);
        var check = await repository.ClientJsonAsync(seeds, loadTimeout, "verify", "--acked", acked);
        if ((long)check["lost"]! != 0 || (long)check["duplicated"]! != 0 || (long)check["gaps"]! != 0)
            throw new InvalidOperationException($"verification failed: {check.ToJsonString()}");
        console.Say($"verified: {(long)check["acked"]!:N0} acknowledged events each applied once (0 lost, 0 duplicated, 0 gaps)");

        var rawRate = Median(raw);
        var durableRate = Median(durable);
        var halfRate = (long)(durableRate / 2);
        var stagesBefore = await Breakdown.ReadAsync(cluster);
        var half = await Load($"half load ({halfRate:N0}/s for {plan.HalfLoadSeconds} s)", "--events",
            (halfRate * plan.HalfLoadSeconds).ToString(), "--rate", halfRate.ToString());
        var breakdown = Breakdown.Between(stagesBefore, await Breakdown.ReadAsync(cluster), half);
        console.Say($"half load, mean and p99 ms per stage: {Breakdown.Describe(breakdown)}");

        var failover = await Failover.TrialsAsync(cluster, runId, plan.FailoverTrials, console.Say);

        var scale = await Scale.RunAsync(repository, cluster, plan.ScaleEntities, quick ? plan.Name : null, runId, console.Say);

        var machine = Machine.Describe();
        var result = new JsonObject
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["commit"] = commit,
            ["quick"] = quick,
            ["smoke"] = smoke,
            ["configuration"] = repository.Configuration,
            ["machine"] = machine,
            ["journal"] = journal.StartsWith("sqlite:", StringComparison.Ordinal) ? "sqlite" : "postgres",
            ["clientConcurrency"] = Concurrency,
            ["rawAsksPerSecond"] = Math.Round(rawRate),
            ["durableEventsPerSecond"] = Math.Round(durableRate),
            ["durableToRaw"] = Math.Round(durableRate / rawRate, 3),
            ["rounds"] = new JsonObject
            {
                ["rawAsksPerSecond"] = new JsonArray(raw.Select(r => (JsonNode)Math.Round(r)).ToArray()),
                ["durableEventsPerSecond"] = new JsonArray(durable.Select(r => (JsonNode)Math.Round(r)).ToArray()),
                ["durableLatencyMs"] = new JsonArray(durableLatency.ToArray()),
                ["rawEvents"] = plan.RawEvents,
                ["durableEvents"] = plan.DurableEvents,
                ["entities"] = 1000,
            },
            ["verification"] = new JsonObject
            {
                ["acked"] = check["acked"]!.DeepClone(),
                ["lost"] = check["lost"]!.DeepClone(),
                ["duplicated"] = check["duplicated"]!.DeepClone(),
                ["gaps"] = check["gaps"]!.DeepClone(),
            },
            ["halfLoad"] = new JsonObject
            {
                ["offeredPerSecond"] = halfRate,
                ["eventsPerSecond"] = half["eventsPerSecond"]!.DeepClone(),
                ["seconds"] = half["seconds"]!.DeepClone(),
                ["latencyMs"] = half["latencyMs"]!.DeepClone(),
                ["breakdown"] = breakdown,
            },
            ["failoverSeconds"] = failover,
            ["scale"] = scale,
            ["seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1),
        };

        await WriteResultsAsync(result, Report.Run(result));
        return 0;

        async Task WriteResultsAsync(JsonObject results, ResultTable table)
        {
            console.Results(table);
            var markdown = table.ToMarkdown();
            var fullOut = Path.GetFullPath(outPath);
            Directory.CreateDirectory(Path.GetDirectoryName(fullOut)!);
            await File.WriteAllTextAsync(fullOut, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            await File.WriteAllTextAsync(Path.ChangeExtension(fullOut, ".md"), markdown, new UTF8Encoding(false));
            console.Say($"results written to {fullOut} and {Path.ChangeExtension(fullOut, ".md")}");
        }
    });
}
catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
{
    console.Error(ex.Message);
    console.Error($"node logs kept in {workDir}");
    keepWork = true;
    return 1;
}
finally
{
    if (cluster is not null)
        await cluster.DisposeAsync();
    if (!keepWork)
    {
        try
        {
            Directory.Delete(workDir, recursive: true);
        }
        catch (IOException)
        {
            // Left for the operating system's temp clean-up.
        }
    }
}

// The middle of a few rounds' throughputs (a rate per round, not a latency: no histogram).
static double Median(IReadOnlyList<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

/// <summary>How much each phase does in a full, a quick and a smoke run.</summary>
public sealed record BenchPlan(
    string Name, int WarmUp, int Rounds, int RawEvents, int DurableEvents, int HalfLoadSeconds, int FailoverTrials, int ScaleEntities,
    int LiveSeconds, int StreamSeconds, int CatchUpEvents, int WebhookEvents, int WebhookLatencySeconds, int BulkEvents, int HttpEvents,
    int DowningCheckSeconds)
{
    public static readonly BenchPlan Full = new("full", 40_000, 3, 300_000, 300_000, 30, 5, 1_000_000, 30, 20, 1_000_000, 40_000, 30, 1_000_000, 300_000, 300);

    public static readonly BenchPlan Quick = new("quick", 20_000, 1, 100_000, 100_000, 15, 2, 100_000, 10, 10, 200_000, 10_000, 10, 200_000, 100_000, 60);

    // Every phase at the least size that still measures it: whether the benchmark works, not how fast.
    public static readonly BenchPlan Smoke = new("smoke", 5_000, 1, 20_000, 20_000, 5, 1, 10_000, 4, 4, 40_000, 4_000, 4, 50_000, 20_000, 20);
}

/// <summary>The machine a run was measured on.</summary>
internal static class Machine
{
    public static JsonObject Describe()
    {
        var memoryMb = 0L;
        var cpu = "unknown";
        try
        {
            var total = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (total is not null)
                memoryMb = long.Parse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
            // Not Linux: cores and OS below still describe the machine.
        }

        return new JsonObject
        {
            ["cores"] = Environment.ProcessorCount,
            ["memoryMb"] = memoryMb,
            ["cpu"] = cpu,
            ["os"] = RuntimeInformation.OSDescription,
            ["dotnet"] = RuntimeInformation.FrameworkDescription,
        };
    }
}
