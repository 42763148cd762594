using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>A run's figures, each beside its target: written as Markdown, or drawn on a terminal.</summary>
/// <param name="Title">The line above the table: the run, the machine, the journal.</param>
/// <param name="Rows">Measure, result, target and whether the target was met ("" where there is none).</param>
public sealed record ResultTable(string Title, IReadOnlyList<(string Measure, string Result, string Target, string Verdict)> Rows)
{
    /// <summary>The table as the .md file and stdout carry it.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(Title);
        sb.AppendLine();
        sb.AppendLine("| Measure | Result | Target | |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var (measure, result, target, verdict) in Rows)
            sb.AppendLine($"| {measure} | {result} | {target} |{(verdict.Length == 0 ? "" : $" {verdict}")} |");
        return sb.ToString();
    }
}

/// <summary>The table of a run, with each figure beside its target.</summary>
public static class Report
{
    public static ResultTable Run(JsonObject r)
    {
        var half = r["halfLoad"]!;
        var failover = r["failoverSeconds"]!;
        var scale = r["scale"]!;
        var quick = (bool)r["quick"]!;
        string Check(bool ok) => ok ? "met" : "**missed**";
        var rows = new List<(string, string, string, string)>();

        var raw = D(r["rawAsksPerSecond"]);
        var durable = D(r["durableEventsPerSecond"]);
        var ratio = D(r["durableToRaw"]);
        var p99 = D(half["latencyMs"]!["p99"]);
        var title = Title(r, "benchmark", "3 local node processes and the client");
        rows.Add(("Raw Akka.NET sharding (echo entity, same client path)", I($"{N(raw)} asks/s"), "baseline", ""));
        rows.Add(("Durable EventCluster events (persisted, de-duplicated, acknowledged)", I($"{N(durable)} events/s"), "≥ 15,000", Check(durable >= 15_000)));
        rows.Add(("Durable ÷ raw", I($"{ratio:0.00}"), "≥ 0.5", Check(ratio >= 0.5)));
        rows.Add((I($"Latency at half load ({N(half["offeredPerSecond"])}/s) p50 / p95 / p99"), I($"{N(half["latencyMs"]!["p50"], "0.0")} / {N(half["latencyMs"]!["p95"], "0.0")} / {N(half["latencyMs"]!["p99"], "0.0")} ms"), "p99 ≤ 25 ms", Check(p99 <= 25)));
        if (half["breakdown"] is { } breakdown)
            rows.Add(("Half load: mean ms per stage of the write path (p99)", Breakdown.Describe(breakdown), "reported", ""));
        rows.Add(FailoverRow(failover));
        rows.Add(ScaleRow(scale, quick ? $" (scaled down for --{RunSize(r)})" : ""));
        return new ResultTable(title, rows);
    }

    /// <summary>The table of a memory run (<c>--scale</c>).</summary>
    public static ResultTable Scale(JsonObject r) =>
        new(Title(r, "memory benchmark", "3 local node processes and the client"), [ScaleRow(r["scale"]!, "")]);

    /// <summary>The row of distinct entities: time, and each node's peak resident memory against the target.</summary>
    private static (string, string, string, string) ScaleRow(JsonNode scale, string scaledDown)
    {
        var maxRss = D(scale["maxRssMb"]);
        return (I($"{N(scale["entities"])} distinct entities{scaledDown}: time, peak RSS per node"),
            I($"{N(scale["seconds"], "0")} s ({N(scale["eventsPerSecond"])} /s), {string.Join(" / ", scale["peakRssMbByNode"]!.AsArray().Select(p => $"{p} MB"))}"),
            I($"≤ {EventCluster.Bench.Scale.TargetRssMb} MB each"), maxRss <= EventCluster.Bench.Scale.TargetRssMb ? "met" : "**missed**");
    }

    /// <summary>The table of a listener run (<c>--listeners</c>), each figure beside its target.</summary>
    public static ResultTable Listeners(JsonObject r)
    {
        var l = r["listeners"]!;
        var live = l["liveLatency"]!;
        var streams = l["sseSubscribers"]!;
        var catchUp = l["catchUp"]!;
        var sqlite = (string)r["journal"]! == "sqlite";
        string Check(bool ok) => ok ? "met" : "**missed**";
        var rows = new List<(string, string, string, string)>();
        var catchUpTarget = sqlite ? 50_000 : 20_000;
        var everyEvent = D(streams["subscribersWithEveryEvent"]) == D(streams["subscribers"]);
        var title = Title(r, "listener benchmark", "3 local node processes, the clients and the benchmark");
        rows.Add((I($"Live delivery, acknowledgement → line printed by `subscribe`, at {N(live["offeredPerSecond"])} events/s ({N(live["printed"])} of {N(live["acknowledged"])} printed)"), I($"p50 {N(live["p50Ms"], "0.0")} ms, p99 {N(live["p99Ms"], "0.0")} ms, max {N(live["maxMs"], "0.0")} ms"), "p50 ≤ 20 ms, p99 ≤ 100 ms", Check(D(live["p50Ms"]) <= 20 && D(live["p99Ms"]) <= 100 && D(live["missing"]) == 0)));
        rows.Add((I($"Catch-up read of {N(catchUp["events"])} events by `subscribe --from POSITION`"), I($"{N(catchUp["eventsPerSecond"])} events/s ({N(catchUp["secondsReading"], "0.0")} s; {N(catchUp["eventsPerSecondFromStart"])}/s counting start-up)"), I($"≥ {catchUpTarget:N0} events/s"), Check(D(catchUp["eventsPerSecond"]) >= catchUpTarget && (bool)catchUp["positionsIncrease"]!)));
        rows.Add((I($"{N(streams["subscribers"])} Server-Sent Event streams at {N(streams["offeredPerSecond"])} events/s: streams that received all {N(streams["acknowledged"])} events in order"), I($"{N(streams["subscribersWithEveryEvent"])}"), "all", Check(everyEvent)));
        rows.Add(("Node CPU for that load without / with the streams (delivery cost per event per stream)", I($"{N(streams["nodeCpuSecondsWithoutStreams"], "0.0")} s / {N(streams["nodeCpuSecondsWithStreams"], "0.0")} s ({N(streams["deliveryCpuMicrosecondsPerEventPerSubscriber"], "0.00")} µs)"), "reported", ""));
        return new ResultTable(title, rows);
    }

    /// <summary>The table of a webhook run (<c>--webhooks</c>), each figure beside its target.</summary>
    public static ResultTable Webhooks(JsonObject r)
    {
        var w = r["webhooks"]!;
        var throughput = w["throughput"]!;
        var latency = w["latency"]!;
        var resume = w["resume"]!;
        string Check(bool ok) => ok ? "met" : "**missed**";
        var rows = new List<(string, string, string, string)>();
        var title = Title(r, "webhook benchmark", "3 local node processes, the clients and the receiver");
        rows.Add((I($"Deliveries to a local receiver ({N(throughput["events"])} stored events, concurrency 64)"), I($"{N(throughput["deliveriesPerSecond"])}/s ({N(throughput["seconds"], "0.0")} s)"), "≥ 2,000/s", Check(D(throughput["deliveriesPerSecond"]) >= 2000)));
        rows.Add((I($"Delivery latency, acknowledgement → receiver, at {N(latency["offeredPerSecond"])} events/s ({N(latency["events"])} events)"), I($"p50 {N(latency["p50Ms"], "0.0")} ms, p99 {N(latency["p99Ms"], "0.0")} ms, max {N(latency["maxMs"], "0.0")} ms"), "p99 ≤ 200 ms", Check(D(latency["p99Ms"]) <= 200)));
        rows.Add(("Resume on a survivor after kill -9 of the runner's node", I($"{N(resume["secondsToResume"], "0.0")} s"), "≤ 15 s", Check(D(resume["secondsToResume"]) <= 15)));
        return new ResultTable(title, rows);
    }

    /// <summary>The table of a bulk run (<c>--bulk</c>), each figure beside its target.</summary>
    public static ResultTable Bulk(JsonObject r)
    {
        var b = r["bulk"]!;
        string Check(bool ok) => ok ? "met" : "**missed**";
        var native = D(b["nativeSingle"]!["eventsPerSecond"]);
        var file = b["sendFile"]!;
        var single = b["httpSingle"]!;
        var batch = b["httpBatch"]!;
        var rows = new List<(string, string, string, string)>();
        var title = Title(r, "bulk and HTTP benchmark", "3 local node processes and the clients", $", {N(b["entities"])} entities");
        rows.Add((I($"Native single events (load, {N(b["nativeSingle"]!["events"])} events, 1,024 in flight)"), I($"{N(native)}/s"), "", ""));
        rows.Add((I($"send --file ({N(file["events"])} events), then verify"), I($"{N(file["eventsPerSecond"])}/s = {N(file["toNativeSingle"], "0.00")} × native single; {N(file["verification"]!["lost"])} lost, {N(file["verification"]!["duplicated"])} duplicated"),
            "≥ 3 × native single, 0 lost, 0 duplicated", Check(D(file["toNativeSingle"]) >= 3 && D(file["verification"]!["lost"]) == 0 && D(file["verification"]!["duplicated"]) == 0)));
        rows.Add((I($"HTTP single events, POST /api/events on one node ({N(single["events"])} events, {N(single["inFlight"])} in flight)"), I($"{N(single["eventsPerSecond"])}/s = {N(single["toNativeSingle"], "0.00")} × native single; p50 {N(single["latencyMs"]!["p50"], "0.0")} ms, p99 {N(single["latencyMs"]!["p99"], "0.0")} ms"),
            "≥ 0.8 × native single", Check(D(single["toNativeSingle"]) >= 0.8)));
        rows.Add((I($"HTTP batches, POST /api/events/batch on one node ({N(batch["events"])} events, NDJSON of 1,000, {N(batch["inFlight"])} in flight)"), I($"{N(batch["eventsPerSecond"])}/s = {N(batch["toNativeSingle"], "0.00")} × native single"),
            "≥ 1 × native single", Check(D(batch["toNativeSingle"]) >= 1)));
        return new ResultTable(title, rows);
    }

    /// <summary>The table of a rate-limit run (<c>--limits</c>).</summary>
    public static ResultTable Limits(JsonObject r)
    {
        var l = r["limits"]!;
        string Latency(JsonNode figures) => I($"p50 {N(figures["latencyMs"]!["p50"], "0.0")} ms, p99 {N(figures["latencyMs"]!["p99"], "0.0")} ms ({N(figures["events"])} events)");
        var flood = l["flood"]!;
        var title = Title(r, "rate-limit benchmark", $"3 local node processes started with --rate-limit-writes {N(l["writeLimitPerClient"])} and the clients");
        var rows = new List<(string, string, string, string)>
        {
            (I($"Steady producer alone, {N(l["steadyRate"])} events/s to node B for {N(l["seconds"])} s"), Latency(l["alone"]!), "", ""),
            (I($"The same while another client floods node A ({N(flood["inFlight"])} in flight)"), Latency(l["flooded"]!), "", ""),
            ("The flood on node A", I($"{N(flood["admittedPerSecond"])} writes/s admitted, {N(flood["refused429PerSecond"])}/s refused with 429, {N(flood["failed"])} failed"),
                I($"admitted ≤ {N(l["writeLimitPerClient"])}/s and one second's burst"),
                D(flood["admittedPerSecond"]) <= D(l["writeLimitPerClient"]) * (1 + 1 / D(flood["seconds"])) * 1.02 ? "met" : "**missed**"),
            ("Steady p99 flooded ÷ alone", N(l["p99Ratio"], "0.00"), "≤ 2", D(l["p99Ratio"]) <= 2 ? "met" : "**missed**"),
        };
        return new ResultTable(title, rows);
    }

    /// <summary>The table of a failover run (<c>--failover</c>), each figure beside its target.</summary>
    public static ResultTable Failover(JsonObject r)
    {
        var f = r["failover"]!;
        var rows = new List<(string, string, string, string)>();
        var title = Title(r, "failover benchmark", "3 local node processes and the client");
        rows.Add(("Durable EventCluster events at saturation (1,024 in flight)", I($"{N(f["durableEventsPerSecond"])} events/s"), "", ""));
        if (f["falseDowning"] is { } check)
        {
            rows.Add((I($"False downing: members unreachable or downed during {N(check["seconds"])} s at half load ({N(check["offeredPerSecond"])}/s offered, {N(check["eventsPerSecond"])}/s done, p99 {N(check["latencyMs"]!["p99"], "0.0")} ms)"),
                I($"{N(check["unreachableLines"])} unreachable and {N(check["downedLines"])} downed log lines, {N(check["clusterViewsWithASuspectedMember"])} of {N(check["clusterViews"])} cluster views ({N(check["lateHeartbeatWarnings"])} late-heartbeat warnings)"),
                "none", (bool)check["passed"]! ? "met" : "**missed**"));
        }

        rows.Add(FailoverRow(f["failoverSeconds"]!));
        return new ResultTable(title, rows);
    }

    /// <summary>The crash-failover row: kill -9 → the entity answers from a survivor.</summary>
    private static (string, string, string, string) FailoverRow(JsonNode failover)
    {
        var trials = failover["trials"]!.AsArray().Select(D).ToArray();
        var (p50, max) = (D(failover["p50"]), D(failover["max"]));
        return (I($"Crash failover (kill -9 → entity answers from a survivor), {trials.Length} trials"),
            I($"p50 {p50:0.0} s, max {max:0.0} s ({string.Join(", ", trials.Select(t => t.ToString("0.0", CultureInfo.InvariantCulture)))})"),
            "p50 ≤ 6 s, max ≤ 10 s", p50 <= 6 && max <= 10 ? "met" : "**missed**");
    }

    /// <summary>A figure as the tables print it (thousands separated, invariant culture).</summary>
    private static string N(JsonNode? value, string format = "N0") => D(value).ToString(format, CultureInfo.InvariantCulture);

    /// <summary>
    /// The line above a table: which benchmark, the run's size, date and commit, the machine, what
    /// shared it, and the journal.
    /// </summary>
    private static string Title(JsonObject r, string benchmark, string onThisMachine, string after = "")
    {
        var m = r["machine"]!;
        var commit = (string)r["commit"]!;
        return string.Create(CultureInfo.InvariantCulture, $"EventCluster {benchmark}, {RunSize(r)} run of {r["date"]} (commit {commit[..Math.Min(12, commit.Length)]}), " +
                                                          $"{m["cores"]} cores, {D(m["memoryMb"]):N0} MiB, {m["cpu"]}, {m["dotnet"]}; {onThisMachine} on this one machine, {r["journal"]} journal{after}.");
    }

    private static string I(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>A JSON number as a double, whether it was written as an integer or not.</summary>
    private static double D(JsonNode? value) => double.Parse(value!.ToJsonString(), CultureInfo.InvariantCulture);

    // Results written before --smoke existed have no "smoke" field.
    private static string RunSize(JsonNode r) =>
        r["smoke"] is JsonValue smoke && (bool)smoke ? "smoke" : (bool)r["quick"]! ? "quick" : "full";
}
