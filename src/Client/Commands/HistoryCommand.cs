using System.Text.Json;
using EventCluster.Client.Cli;
using EventCluster.Client.Connection;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;

namespace EventCluster.Client.Commands;

/// <summary><c>history</c>: an entity's events in version order, one page.</summary>
public static class HistoryCommand
{
    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, IReadOnlyList<string> seeds, TimeSpan? timeout)
    {
        args.AllowOnly("--entity", "--from", "--limit", "--json");
        var entityId = args.Required("--entity");
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new UsageException(problem);
        var from = args.Integer("--from", 1, 1, long.MaxValue);
        var limit = (int)args.Integer("--limit", GetEntityHistory.DefaultLimit, 1, GetEntityHistory.MaxLimit);
        var total = timeout ?? TimeSpan.FromSeconds(30);

        await using var connection = ClusterConnection.Connect(seeds);
        var requestId = Guid.NewGuid().ToString("N");
        var reply = await connection.ListenOnceAsync(requestId, new GetEntityHistory(requestId, entityId, from, limit), total, $"the history of entity {entityId}");

        switch (reply)
        {
            case EntityHistoryResult { Exists: false }:
                Output.Error($"entity '{entityId}' has applied no events");
                return ExitCodes.Rejected;
            case EntityHistoryResult history when args.Flag("--json"):
                Output.WriteJson(new { entityId = history.EntityId, events = history.Events });
                return ExitCodes.Success;
            case EntityHistoryResult history:
                foreach (var record in history.Events)
                    Console.Out.WriteLine(EventLines.Text(record));
                Console.Error.WriteLine(history.Events.Count == 0
                    ? $"entity {entityId} is at version {history.Version}; no events from version {from}"
                    : $"versions {history.Events[0].Version}-{history.Events[^1].Version} of {history.Version}");
                return ExitCodes.Success;
            case SubscriptionRefused refused:
                Output.Error($"refused: {refused.Reason}");
                return refused.Retryable ? ExitCodes.Unreachable : ExitCodes.Rejected;
            default:
                throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}");
        }
    }
}

/// <summary>How the commands print one event.</summary>
public static class EventLines
{
    /// <summary>One line of text: position, entity and version, type, id, time and data.</summary>
    public static string Text(EventRecord record) =>
        $"{record.Position,10}  {record.EntityId} v{record.Version}  {record.Type}  {record.EventId}  {record.At:O}  {record.Data}";

    /// <summary>One line of JSON with the fields of history.</summary>
    public static string Json(EventRecord record) => JsonSerializer.Serialize(record, Output.JsonLine);
}
