using System.Text.Json;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;

namespace EventCluster.Cli.Commands;

/// <summary><c>history</c>: an entity's events in version order, one page.</summary>
public static class HistoryCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var entityId = args.Required("--entity");
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new UsageException(problem);
        var from = args.Value<long>("--from");
        var limit = args.Value<int>("--limit");
        await using var client = settings.Client();
        EntityHistoryResult? history;
        try
        {
            history = await client.HistoryPageAsync(entityId, from, limit);
        }
        catch (EventClusterRejectedException refused)
        {
            Output.Error(refused.Message);
            return ExitCodes.Rejected;
        }

        if (history is null)
        {
            Output.Error($"entity '{entityId}' has applied no events");
            return ExitCodes.Rejected;
        }

        if (args.Flag("--json"))
        {
            Output.WriteJson(new { entityId = history.EntityId, events = history.Events });
            return ExitCodes.Success;
        }

        foreach (var record in history.Events)
            Console.Out.WriteLine(EventLines.Text(record));
        Console.Error.WriteLine(history.Events.Count == 0
            ? $"entity {entityId} is at version {history.Version}; no events from version {from}"
            : $"versions {history.Events[0].Version}-{history.Events[^1].Version} of {history.Version}");
        return ExitCodes.Success;
    }
}

/// <summary>How the commands print one event.</summary>
public static class EventLines
{
    /// <summary>
    /// One line of text: position, entity and version, type, id, time and data; an erased record
    /// says <c>(erased)</c> or <c>(entity erased)</c> and when, with no id or data.
    /// </summary>
    public static string Text(EventRecord record) => record.Erased
        ? $"{record.Position,10}  {record.EntityId} v{record.Version}  {(record.Type == EventRecord.EntityErasedType ? "(entity erased)" : "(erased)")}  {record.At:O}"
        : $"{record.Position,10}  {record.EntityId} v{record.Version}  {record.Type}  {record.EventId}  {record.At:O}  {record.Data}";

    /// <summary>One line of JSON with the fields of history.</summary>
    public static string Json(EventRecord record) => JsonSerializer.Serialize(record, Output.JsonLine);
}
