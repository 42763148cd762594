using System.Text.Json.Nodes;
using EventCluster.Client.Cli;
using EventCluster.Client.Connection;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Validation;

namespace EventCluster.Client.Commands;

/// <summary><c>send</c>: submits one event, retrying with the same event id until it is acknowledged.</summary>
public static class SendCommand
{
    /// <summary>Time one attempt waits for the acknowledgement before the event is sent again.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Validates the options into an event; throws <see cref="UsageException"/> on bad input.</summary>
    public static SubmitEvent ParseEvent(Arguments args)
    {
        var entityId = args.Required("--entity");
        var type = args.Required("--type");
        var eventId = args.Value("--id") ?? NewEventId();
        var problem = EventValidation.CheckEntityId(entityId) ?? EventValidation.CheckType(type) ?? EventValidation.CheckEventId(eventId);
        if (problem is not null)
            throw new UsageException(problem);
        if (!EventValidation.TryNormalizeData(args.Value("--data"), out var data, out var dataProblem))
            throw new UsageException(dataProblem!);
        return new SubmitEvent(entityId, eventId, type, data);
    }

    /// <summary>A fresh event id: time-ordered and unique.</summary>
    public static string NewEventId() => Guid.CreateVersion7().ToString("N");

    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, IReadOnlyList<string> seeds, TimeSpan? timeout)
    {
        args.AllowOnly("--entity", "--type", "--data", "--id", "--json");
        var command = ParseEvent(args);
        var json = args.Flag("--json");
        var total = timeout ?? TimeSpan.FromSeconds(30);

        await using var connection = ClusterConnection.Connect(seeds);
        var reply = await SubmitWithRetriesAsync(connection, command, total, AttemptTimeout, onRetry: null);
        switch (reply)
        {
            case EventAccepted accepted when json:
                Output.WriteJson(accepted);
                return ExitCodes.Success;
            case EventAccepted accepted:
                Console.Out.WriteLine($"{(accepted.Duplicate ? "duplicate" : "accepted")} entity={accepted.EntityId} " +
                                      $"event={accepted.EventId} version={accepted.Version} position={accepted.Position?.ToString() ?? "unknown"} node={accepted.Node} " +
                                      $"duplicate={accepted.Duplicate.ToString().ToLowerInvariant()}");
                return ExitCodes.Success;
            case EventRejected rejected:
                if (json)
                    Output.WriteJson(new JsonObject
                    {
                        ["entityId"] = rejected.EntityId, ["eventId"] = rejected.EventId, ["rejected"] = true,
                        ["reason"] = rejected.Reason,
                    });
                Output.Error($"rejected: {rejected.Reason}");
                return ExitCodes.Rejected;
            case EventNotStored notStored:
                if (json)
                    Output.WriteJson(new JsonObject
                    {
                        ["entityId"] = notStored.EntityId, ["eventId"] = notStored.EventId, ["stored"] = false,
                        ["reason"] = notStored.Reason,
                    });
                Output.Error($"not stored: {notStored.Reason}; send it again with --id {command.EventId} once the journal is back " +
                             "(a repeat of a stored event is recognised as a duplicate)");
                return ExitCodes.Unreachable;
            default:
                throw ConnectionErrors.NoAnswer(seeds, total, $"event {command.EventId}");
        }
    }

    /// <summary>Pause before an event the journal could not store is sent again (with <c>retryNotStored</c>).</summary>
    public static readonly TimeSpan NotStoredBackoff = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Sends the event until it is accepted or rejected, resending the same event id after every
    /// attempt that got no answer; null when <paramref name="total"/> ran out first. With
    /// <paramref name="retryNotStored"/> an event the journal could not store is sent again too
    /// (after <see cref="NotStoredBackoff"/>), and the last such answer is returned when time runs
    /// out. With <paramref name="directFirst"/> the first attempt goes straight to the node
    /// hosting the entity's shard; retries always go through the seed contact.
    /// </summary>
    public static async Task<object?> SubmitWithRetriesAsync(ClusterConnection connection, SubmitEvent command, TimeSpan total,
        TimeSpan attemptTimeout, Action? onRetry, bool directFirst = false, bool retryNotStored = false)
    {
        var deadline = DateTime.UtcNow + total;
        object? lastNotStored = null;
        for (var attempt = 0; ; attempt++)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                return lastNotStored;
            try
            {
                var reply = await connection.SubmitAsync(command, left < attemptTimeout ? left : attemptTimeout,
                    direct: directFirst && attempt == 0);
                if (reply is not EventNotStored || !retryNotStored)
                    return reply;
                lastNotStored = reply;
                left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    return reply;
                onRetry?.Invoke();
                await Task.Delay(left < NotStoredBackoff ? left : NotStoredBackoff);
            }
            catch (TimeoutException)
            {
                if (deadline - DateTime.UtcNow > TimeSpan.Zero)
                    onRetry?.Invoke();
            }
        }
    }
}
