using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Replies;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>send --file EVENTS.ndjson</c>: sends every event of a file, one <c>POST /api/events</c> body
/// per line, through <see cref="EventClusterClient.SendManyAsync(IAsyncEnumerable{SubmitEvent}, CancellationToken)"/>.
/// The file is checked whole first (a bad line: exit 2, nothing sent), then streamed: it is never
/// held in memory.
/// </summary>
public static class SendFileCommand
{
    private static readonly JsonSerializerOptions LineOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        PropertyNameCaseInsensitive = false,
    };

    /// <summary>Rejected events named on standard error at most; the rest are counted.</summary>
    private const int RejectionsShown = 20;

    /// <summary>One line of the file.</summary>
    private sealed record FileEvent(string? EntityId, string? Type, string? EventId, JsonElement? Data);

    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings, string path)
    {
        foreach (var single in (string[])["--entity", "--type", "--id"])
            if (args.Value<string>(single) is not null)
                throw new UsageException($"{single} is for one event; with --file every line of the file is an event");
        if (args.Value<string>("--data") is { } data && data != "{}")
            throw new UsageException("--data is for one event; with --file every line of the file is an event");
        var json = args.Flag("--json");
        var ackedPath = args.Value<string>("--acked");

        // The whole file is checked before anything is sent: a bad line changes nothing.
        var checkClock = Stopwatch.StartNew();
        long total = 0;
        await foreach (var _ in ReadAsync(path, CancellationToken.None))
            total++;
        if (total == 0)
            throw new UsageException($"{path} holds no events");
        var checkSeconds = checkClock.Elapsed.TotalSeconds;

        await using var records = ackedPath is null ? null : RecordFiles.Create(ackedPath, flushEachLine: false);
        await using var client = settings.Client();
        long accepted = 0, duplicates = 0, rejected = 0, notStored = 0, unanswered = 0;
        var clock = Stopwatch.StartNew();
        await LoadProgress.RunAsync(total, () => (Interlocked.Read(ref accepted) + Interlocked.Read(ref duplicates) + Interlocked.Read(ref rejected),
            Interlocked.Read(ref rejected) + Interlocked.Read(ref notStored) + Interlocked.Read(ref unanswered), 0), async () =>
        {
            var since = 0;
            await foreach (var outcome in client.SendManyAsync(Recorded(ReadAsync(path, CancellationToken.None), records)))
            {
                switch (outcome.Status)
                {
                    case EventOutcome.Accepted:
                        Interlocked.Increment(ref accepted);
                        break;
                    case EventOutcome.Duplicate:
                        Interlocked.Increment(ref duplicates);
                        break;
                    case EventOutcome.Rejected:
                        if (Interlocked.Increment(ref rejected) <= RejectionsShown)
                            Output.Error($"rejected: entity {outcome.EntityId} event {outcome.EventId}: {outcome.Reason}");
                        break;
                    case EventOutcome.NotStored:
                        if (Interlocked.Increment(ref notStored) + Interlocked.Read(ref unanswered) <= RejectionsShown)
                            Output.Error($"not stored: entity {outcome.EntityId} event {outcome.EventId}: {outcome.Reason}");
                        break;
                    default:
                        if (Interlocked.Increment(ref unanswered) + Interlocked.Read(ref notStored) <= RejectionsShown)
                            Output.Error($"unanswered: entity {outcome.EntityId} event {outcome.EventId}: {outcome.Reason}");
                        break;
                }

                if (outcome.IsStored)
                    records?.Acked(outcome.EntityId, outcome.EventId, outcome.Position);
                if (++since == SubmitEventBatch.MaxEvents)
                {
                    since = 0;
                    records?.Flush();
                }
            }
        });
        clock.Stop();
        records?.Flush();

        var seconds = clock.Elapsed.TotalSeconds;
        var stored = accepted + duplicates;
        if (json)
            Output.WriteJson(new JsonObject
            {
                ["mode"] = "file",
                ["events"] = total,
                ["acknowledged"] = stored,
                ["accepted"] = accepted,
                ["duplicates"] = duplicates,
                ["rejected"] = rejected,
                ["notStored"] = notStored,
                ["unanswered"] = unanswered,
                ["checkSeconds"] = Math.Round(checkSeconds, 3),
                ["seconds"] = Math.Round(seconds, 3),
                ["eventsPerSecond"] = Math.Round(stored / seconds, 1),
            });
        else
            Console.Out.WriteLine($"""
                events:      {stored:N0} acknowledged of {total:N0} ({accepted:N0} accepted, {duplicates:N0} duplicates)
                time:        {seconds:0.00} s (file checked in {checkSeconds:0.00} s before)
                throughput:  {stored / seconds:N0} events/s
                errors:      {rejected} rejected, {notStored} not stored, {unanswered} unanswered
                """);
        if (notStored + unanswered > 0)
            Output.Error("send the file again: stored events are acknowledged as duplicates (lines without an eventId get new ids and are stored again)");
        return notStored + unanswered > 0 ? ExitCodes.Unavailable : rejected > 0 ? ExitCodes.Rejected : ExitCodes.Success;
    }

    /// <summary>The file's events in order; throws <see cref="UsageException"/> naming the first bad line.</summary>
    private static async IAsyncEnumerable<SubmitEvent> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        StreamReader reader;
        try
        {
            reader = new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read '{path}': {ex.Message}");
        }

        using (reader)
        {
            var number = 0L;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                number++;
                if (string.IsNullOrWhiteSpace(line))
                    continue;
                yield return Parse(path, number, line);
            }
        }
    }

    private static SubmitEvent Parse(string path, long number, string line)
    {
        FileEvent? read;
        try
        {
            read = JsonSerializer.Deserialize<FileEvent>(line, LineOptions);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{path}:{number}: not an event (a JSON object with entityId, type, and optionally eventId and data): " +
                                     ex.Message.Split(" Path:", 2)[0]);
        }

        if (read is null)
            throw new UsageException($"{path}:{number}: not an event: null");
        try
        {
            return EventClusterClient.NewEvent(read.EntityId!, read.Type!, read.Data is { } element ? element.GetRawText() : null, read.EventId);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"{path}:{number}: {ex.Message}");
        }
    }

    private static async IAsyncEnumerable<SubmitEvent> Recorded(IAsyncEnumerable<SubmitEvent> events, RecordFiles? records)
    {
        await foreach (var submit in events)
        {
            records?.Sent(submit);
            yield return submit;
        }
    }
}
