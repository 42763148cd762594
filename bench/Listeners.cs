using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// The listener figures on a running 3-node cluster: live delivery latency from acknowledgement
/// to the line <c>subscribe</c> prints, catch-up read speed, and many Server-Sent Event
/// subscribers at once with the node CPU their delivery costs.
/// </summary>
public static class Listeners
{
    /// <summary>The listener part of a run's results.</summary>
    public static async Task<JsonObject> RunAsync(Repository repository, BenchCluster cluster, string workDir, BenchPlan plan, Action<string> say)
    {
        var live = await LiveLatencyAsync(repository, cluster, workDir, rate: 5000, seconds: plan.LiveSeconds, say);
        var streams = await StreamsAsync(repository, cluster, workDir, subscribers: 100, rate: 2000, seconds: plan.StreamSeconds, say);
        var catchUp = await CatchUpAsync(repository, cluster, plan.CatchUpEvents, say);
        return new JsonObject { ["liveLatency"] = live, ["sseSubscribers"] = streams, ["catchUp"] = catchUp };
    }

    /// <summary>
    /// <c>subscribe --from end --json</c> runs while <c>load --rate</c> sends; each event's latency
    /// is from the moment the load client recorded its acknowledgement (the acked file's
    /// <c>ackedAt</c>) to the moment the subscriber's line reached this process. Both are this
    /// machine's clock.
    /// </summary>
    private static async Task<JsonObject> LiveLatencyAsync(Repository repository, BenchCluster cluster, string workDir, int rate, int seconds,
        Action<string> say)
    {
        say($"live latency: subscribe --from end while load sends {rate:N0} events/s for {seconds} s...");
        var printed = new ConcurrentDictionary<string, DateTimeOffset>();
        using var subscriber = StartClient(repository, cluster, "subscribe", "--from", "end", "--json");
        var caughtUp = new TaskCompletionSource();
        subscriber.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            var at = DateTimeOffset.UtcNow;
            using var line = JsonDocument.Parse(e.Data);
            printed[line.RootElement.GetProperty("eventId").GetString()!] = at;
        };
        subscriber.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("caught up at", StringComparison.Ordinal) == true)
                caughtUp.TrySetResult();
        };
        subscriber.BeginOutputReadLine();
        subscriber.BeginErrorReadLine();
        try
        {
            await caughtUp.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var acked = Path.Combine(workDir, "live.jsonl");
            var load = await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(10), "load", "--events", (rate * seconds).ToString(),
                "--entities", "1000", "--rate", rate.ToString(), "--acked", acked);
            var ackedAt = File.ReadLines(acked).Select(line => JsonDocument.Parse(line).RootElement)
                .ToDictionary(e => e.GetProperty("eventId").GetString()!, e => e.GetProperty("ackedAt").GetDateTimeOffset());
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (ackedAt.Keys.Any(id => !printed.ContainsKey(id)) && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            var missing = ackedAt.Keys.Count(id => !printed.ContainsKey(id));
            var latencies = new LatencyHistogram();
            foreach (var (eventId, at) in ackedAt)
            {
                if (printed.TryGetValue(eventId, out var printedAt))
                    latencies.Record(printedAt - at);
            }

            var result = new JsonObject
            {
                ["offeredPerSecond"] = rate,
                ["eventsPerSecond"] = load["eventsPerSecond"]!.DeepClone(),
                ["acknowledged"] = ackedAt.Count,
                ["printed"] = latencies.Count,
                ["missing"] = missing,
                ["p50Ms"] = Math.Round(latencies.Milliseconds(50), 1),
                ["p99Ms"] = Math.Round(latencies.Milliseconds(99), 1),
                ["maxMs"] = Math.Round(latencies.MaxMilliseconds, 1),
            };
            say($"live latency at {rate:N0}/s: p50 {result["p50Ms"]} ms, p99 {result["p99Ms"]} ms, max {result["maxMs"]} ms; " +
                $"{latencies.Count:N0} of {ackedAt.Count:N0} acknowledged events printed");
            return result;
        }
        finally
        {
            Stop(subscriber);
        }
    }

    /// <summary>
    /// <paramref name="subscribers"/> Server-Sent Event streams on the first node follow a load of
    /// <paramref name="rate"/> events/s; each must receive every acknowledged event once, in
    /// position order. The node's CPU is compared with the same load without streams.
    /// </summary>
    private static async Task<JsonObject> StreamsAsync(Repository repository, BenchCluster cluster, string workDir, int subscribers, int rate,
        int seconds, Action<string> say)
    {
        var node = 0;
        var pid = cluster.ProcessId(node) ?? throw new InvalidOperationException("the first node is not running");
        var events = rate * seconds;
        say($"streams: baseline, {events:N0} events at {rate:N0}/s without streams...");
        var before = CpuSeconds(pid);
        await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(10), "load", "--events", events.ToString(), "--entities", "1000",
            "--rate", rate.ToString());
        var baselineCpu = CpuSeconds(pid) - before;

        say($"streams: {subscribers} Server-Sent Event streams on node 1 while the same load runs...");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{BenchCluster.HttpPortOf(cluster.Ports[node])}"), Timeout = Timeout.InfiniteTimeSpan };
        using var stop = new CancellationTokenSource();
        var received = Enumerable.Range(0, subscribers).Select(_ => new List<long>()).ToArray();
        var caughtUp = new CountdownEvent(subscribers);
        var readers = Enumerable.Range(0, subscribers).Select(i => ReadStreamAsync(http, received[i], caughtUp, stop.Token)).ToArray();
        if (!caughtUp.Wait(TimeSpan.FromSeconds(60)))
            throw new InvalidOperationException($"only {subscribers - caughtUp.CurrentCount} of {subscribers} streams caught up");
        var acked = Path.Combine(workDir, "streams.jsonl");
        before = CpuSeconds(pid);
        var load = await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(10), "load", "--events", events.ToString(), "--entities", "1000",
            "--rate", rate.ToString(), "--acked", acked);
        var positions = File.ReadLines(acked).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("position").GetInt64()).Order().ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (received.Any(r => Count(r) < positions.Length) && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        var streamsCpu = CpuSeconds(pid) - before;
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        var complete = received.Count(r =>
        {
            lock (r)
                return r.SequenceEqual(positions);
        });
        var result = new JsonObject
        {
            ["subscribers"] = subscribers,
            ["offeredPerSecond"] = rate,
            ["eventsPerSecond"] = load["eventsPerSecond"]!.DeepClone(),
            ["acknowledged"] = positions.Length,
            ["subscribersWithEveryEvent"] = complete,
            ["nodeCpuSecondsWithoutStreams"] = Math.Round(baselineCpu, 2),
            ["nodeCpuSecondsWithStreams"] = Math.Round(streamsCpu, 2),
            ["deliveryCpuMicrosecondsPerEventPerSubscriber"] =
                Math.Round(Math.Max(0, streamsCpu - baselineCpu) * 1e6 / ((double)positions.Length * subscribers), 2),
        };
        say($"streams: {complete} of {subscribers} received all {positions.Length:N0} events in order; node 1 CPU {baselineCpu:0.0} s without " +
            $"streams, {streamsCpu:0.0} s with");
        return result;
    }

    /// <summary>Writes <paramref name="count"/> events, then times <c>subscribe --from start --max N</c> reading them back.</summary>
    private static async Task<JsonObject> CatchUpAsync(Repository repository, BenchCluster cluster, int count, Action<string> say)
    {
        say($"catch-up: writing {count:N0} events...");
        var written = await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(60), "load", "--events", count.ToString(),
            "--entities", "1000", "--concurrency", "1024");
        var head = (long)(await repository.ClientJsonAsync(cluster.Seeds, TimeSpan.FromMinutes(1), "groups"))["head"]!;
        var start = head - count;
        say($"catch-up: reading {count:N0} events after position {start:N0} with subscribe...");
        using var subscriber = StartClient(repository, cluster, "subscribe", "--from", start.ToString(), "--max", count.ToString(), "--json");
        var started = Stopwatch.StartNew();
        TimeSpan? first = null;
        var lines = 0L;
        var positionsIncrease = true;
        var last = start;
        subscriber.ErrorDataReceived += (_, _) => { };
        subscriber.BeginErrorReadLine();
        while (await subscriber.StandardOutput.ReadLineAsync() is { } line)
        {
            first ??= started.Elapsed;
            lines++;
            var position = ReadPosition(line);
            positionsIncrease &= position > last;
            last = position;
        }

        await subscriber.WaitForExitAsync();
        var total = started.Elapsed;
        var reading = total - (first ?? TimeSpan.Zero);
        var result = new JsonObject
        {
            ["events"] = lines,
            ["positionsIncrease"] = positionsIncrease,
            ["writeEventsPerSecond"] = written["eventsPerSecond"]!.DeepClone(),
            ["secondsFromStart"] = Math.Round(total.TotalSeconds, 2),
            ["secondsReading"] = Math.Round(reading.TotalSeconds, 2),
            ["eventsPerSecond"] = Math.Round(lines / reading.TotalSeconds),
            ["eventsPerSecondFromStart"] = Math.Round(lines / total.TotalSeconds),
        };
        say($"catch-up: {lines:N0} events in {reading.TotalSeconds:0.0} s after the first line ({result["eventsPerSecond"]}/s; " +
            $"{total.TotalSeconds:0.0} s with start-up and connection)");
        return result;
    }

    private static async Task ReadStreamAsync(HttpClient http, List<long> received, CountdownEvent caughtUp, CancellationToken stop)
    {
        try
        {
            using var response = await http.GetAsync("/api/events/stream?from=end", HttpCompletionOption.ResponseHeadersRead, stop);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop));
            while (await reader.ReadLineAsync(stop) is { } line)
            {
                if (line.StartsWith("event: caught-up", StringComparison.Ordinal))
                    caughtUp.Signal();
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    lock (received)
                        received.Add(long.Parse(line.AsSpan(4)));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    private static int Count(List<long> received)
    {
        lock (received)
            return received.Count;
    }

    private static long ReadPosition(string line)
    {
        var at = line.IndexOf("\"position\":", StringComparison.Ordinal) + 11;
        var end = line.IndexOf(',', at);
        return long.Parse(line.AsSpan(at, end - at));
    }

    private static Process StartClient(Repository repository, BenchCluster cluster, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = repository.Root,
        };
        foreach (var arg in (string[])[repository.ClientDll, .. args, "--seeds", cluster.Seeds])
            start.ArgumentList.Add(arg);
        Repository.ScrubEnvironment(start);
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the client");
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    /// <summary>User plus system CPU seconds of a process so far.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
    }
}
