using System.Diagnostics;
using System.Text.Json.Nodes;
using Akka.Actor;
using HdrHistogram;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Client.Connection;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;
using EventCluster.Messages.Replies;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>load</c>: sends N events over K entities with C in flight, retrying timed-out events with
/// the same event id, and reports throughput and latency. Entity ids get a fresh prefix per run,
/// so a later <c>verify</c> sees exactly this run's events.
/// </summary>
public static class LoadCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var events = args.Value<long>("--events");
        var entities = args.Value<long>("--entities");
        var concurrency = args.Value<int>("--concurrency");
        // Events per second to offer at most (0: as fast as the cluster acknowledges), for latency at a fixed load.
        var rate = args.Value<long>("--rate");
        var type = args.Required("--type");
        var runId = Guid.NewGuid().ToString("N")[..8];
        var prefix = args.Value<string>("--entity-prefix") ?? $"load-{runId}-";
        var perEvent = settings.Timeout ?? CommandTree.DefaultLoadTimeout;
        var json = args.Flag("--json");
        // Round trips to non-persistent echo entities over the same route: the cluster's cost
        // without the journal, as the baseline for the durable figures.
        var echo = args.Flag("--echo");
        var ackedPath = args.Value<string>("--acked");
        if (echo && ackedPath is not null)
            throw new UsageException("--acked records events; --echo sends none");
        var sample = new SubmitEvent($"{prefix}{entities - 1}", $"{runId}-{events - 1}", type, "{}");
        if (Messages.Validation.EventValidation.Check(sample) is { } problem)
            throw new UsageException(problem);

        await using var records = ackedPath is null ? null : RecordFiles.Create(ackedPath);
        await using var connection = settings.Connect();

        // Microseconds up to an hour at 3 significant digits: a few hundred KiB however many events.
        var latencies = new LongConcurrentHistogram(1, TimeSpan.FromHours(1).Ticks / 10, 3);
        // At a fixed rate: how late the client itself sent each event after it was due (µs).
        var lateness = new LongConcurrentHistogram(1, TimeSpan.FromHours(1).Ticks / 10, 3);
        long next = -1, acked = 0, errors = 0, unanswered = 0, retries = 0, duplicates = 0;
        var firstError = (string?)null;
        // An event that got no answer for its whole timeout means the cluster cannot take events:
        // stop handing out new ones instead of waiting that long for every remaining event.
        using var giveUp = new CancellationTokenSource();
        // Reach the cluster before the clock starts: an unreachable cluster is reported at once
        // (exit 3), and the figures measure the cluster, not the client's connection set-up.
        var connectTimeout = perEvent < CommandTree.DefaultTimeout ? perEvent : CommandTree.DefaultTimeout;
        try
        {
            await connection.RefreshPlacementAsync(connectTimeout);
        }
        catch (TimeoutException)
        {
            throw ConnectionErrors.NoAnswer(settings.Seeds, connectTimeout, "the cluster status");
        }

        using var stopPlacement = new CancellationTokenSource();
        var placement = KeepPlacementFreshAsync(connection, stopPlacement.Token);
        var clock = Stopwatch.StartNew();
        var clockStarted = Stopwatch.GetTimestamp();
        var gcPausedBefore = GC.GetTotalPauseDuration();

        async Task Worker()
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= events || giveUp.IsCancellationRequested)
                    return;
                var entityId = $"{prefix}{i % entities}";
                var eventId = $"{runId}-{i}";
                var started = Stopwatch.GetTimestamp();
                if (rate > 0)
                {
                    // At a fixed rate, latency counts from the moment the event was due, not from
                    // when a worker got round to it: a stall shows in every event it held back
                    // (no coordinated omission).
                    var due = TimeSpan.FromSeconds((double)i / rate);
                    if (due - clock.Elapsed is { Ticks: > 0 } early)
                        await Task.Delay(early);
                    started = clockStarted + (long)(due.TotalSeconds * Stopwatch.Frequency);
                    lateness.RecordValue(Math.Clamp(Stopwatch.GetElapsedTime(started).Ticks / 10, 1, lateness.HighestTrackableValue));
                }

                SubmitEvent? command = null;
                object? reply;
                if (echo)
                    reply = await EchoAsync(connection, new EchoRequest(entityId, eventId), perEvent);
                else
                {
                    command = new SubmitEvent(entityId, eventId, type, $"{{\"seq\":{i}}}");
                    records?.Sent(command);
                    reply = await connection.SubmitWithRetriesAsync(command, perEvent, SendCommand.AttemptTimeout, SendCommand.NotStoredBackoff,
                        () => Interlocked.Increment(ref retries), directFirst: true);
                }

                var latency = Stopwatch.GetElapsedTime(started);
                switch (reply)
                {
                    case EchoReply:
                        Interlocked.Increment(ref acked);
                        latencies.RecordValue(Math.Clamp(latency.Ticks / 10, 1, latencies.HighestTrackableValue));
                        break;
                    case EventAccepted accepted:
                        if (accepted.Duplicate)
                            Interlocked.Increment(ref duplicates);
                        records?.Acked(command!, accepted.Position);
                        Interlocked.Increment(ref acked);
                        latencies.RecordValue(Math.Clamp(latency.Ticks / 10, 1, latencies.HighestTrackableValue));
                        break;
                    case EventRejected rejected:
                        Interlocked.CompareExchange(ref firstError, $"rejected: {rejected.Reason}", null);
                        Interlocked.Increment(ref errors);
                        break;
                    case EventNotStored notStored:
                        Interlocked.CompareExchange(ref firstError, $"not stored: {notStored.Reason}", null);
                        Interlocked.Increment(ref unanswered);
                        await giveUp.CancelAsync();
                        break;
                    default:
                        Interlocked.CompareExchange(ref firstError, $"event {eventId} got no answer within {perEvent.TotalSeconds:0}s; stopped sending", null);
                        Interlocked.Increment(ref unanswered);
                        await giveUp.CancelAsync();
                        break;
                }
            }
        }

        await LoadProgress.RunAsync(events, () => (Interlocked.Read(ref acked) + Interlocked.Read(ref errors),
                Interlocked.Read(ref errors) + Interlocked.Read(ref unanswered), Interlocked.Read(ref retries)),
            () => Task.WhenAll(Enumerable.Range(0, (int)Math.Min(concurrency, events)).Select(_ => Task.Run(Worker))));
        clock.Stop();
        await stopPlacement.CancelAsync();
        await placement;

        var seconds = clock.Elapsed.TotalSeconds;
        double Percentile(double p) => latencies.TotalCount == 0 ? 0 : latencies.GetValueAtPercentile(p * 100) / 1000.0;
        var maxMs = latencies.TotalCount == 0 ? 0 : latencies.GetMaxValue() / 1000.0;
        var summary = new JsonObject
        {
            ["mode"] = echo ? "echo" : "events",
            ["events"] = events,
            ["acknowledged"] = acked,
            ["entities"] = entities,
            ["concurrency"] = concurrency,
            ["entityPrefix"] = prefix,
            ["seconds"] = Math.Round(seconds, 3),
            ["eventsPerSecond"] = Math.Round(acked / seconds, 1),
            ["latencyMs"] = new JsonObject
            {
                ["mean"] = Math.Round(latencies.TotalCount == 0 ? 0 : latencies.GetMean() / 1000.0, 3),
                ["p50"] = Math.Round(Percentile(0.50), 2),
                ["p95"] = Math.Round(Percentile(0.95), 2),
                ["p99"] = Math.Round(Percentile(0.99), 2),
                ["max"] = Math.Round(maxMs, 2),
            },
            ["clientLateMs"] = lateness.TotalCount == 0 ? null : new JsonObject
            {
                ["mean"] = Math.Round(lateness.GetMean() / 1000.0, 3),
                ["p99"] = Math.Round(lateness.GetValueAtPercentile(99) / 1000.0, 2),
            },
            // The client's own garbage-collection pauses: a stall that is not the cluster's.
            ["clientGcPauseMs"] = Math.Round((GC.GetTotalPauseDuration() - gcPausedBefore).TotalMilliseconds, 1),
            ["errors"] = errors + unanswered,
            ["unanswered"] = unanswered,
            ["retries"] = retries,
            ["duplicates"] = duplicates,
        };

        if (json)
            Output.WriteJson(summary);
        else
            Console.Out.WriteLine($"""
                {(echo ? "echoes:  " : "events:  ")}    {acked:N0} {(echo ? "answered" : "acknowledged")} of {events:N0} over {entities:N0} entities (prefix {prefix}), concurrency {concurrency}
                time:        {seconds:0.00} s
                throughput:  {acked / seconds:N0} {(echo ? "echoes" : "events")}/s
                latency ms:  p50 {Percentile(0.50):0.0}  p95 {Percentile(0.95):0.0}  p99 {Percentile(0.99):0.0}  max {maxMs:0.0}
                errors:      {errors + unanswered} ({unanswered} unanswered)   retries: {retries}   duplicates acknowledged: {duplicates}
                """);
        if (firstError is not null)
            Output.Error($"first error: {firstError}");
        return unanswered > 0 ? ExitCodes.Unavailable : errors > 0 ? ExitCodes.Rejected : ExitCodes.Success;
    }

    /// <summary>One echo round trip straight to the node hosting its shard; null when no answer came in time.</summary>
    private static async Task<object?> EchoAsync(ClusterConnection connection, EchoRequest request, TimeSpan timeout)
    {
        try
        {
            return await connection.EchoAsync(request, timeout, direct: true);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// Re-learns the shard placement every few seconds so that events follow shards that move
    /// while the load runs. A failed refresh keeps the old placement: events still arrive, one
    /// hop longer.
    /// </summary>
    private static async Task KeepPlacementFreshAsync(ClusterConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            // While shards are still being allocated, learn the new ones quickly.
            var pause = connection.PlacementComplete ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(1);
            try
            {
                await Task.Delay(pause, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await connection.RefreshPlacementAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is TimeoutException or AskTimeoutException)
            {
                // Keep the previous placement; the next round tries again.
            }
        }
    }
}
