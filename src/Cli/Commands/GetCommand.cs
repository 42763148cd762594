using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Validation;

namespace EventCluster.Cli.Commands;

/// <summary><c>get</c>: prints an entity's state.</summary>
public static class GetCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var entityId = args.Required("--entity");
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new UsageException(problem);
        await using var client = settings.Client();
        EntityStateResult state;
        try
        {
            state = await client.GetAsync(entityId);
        }
        catch (EventClusterRejectedException rejected)
        {
            Output.Error(rejected.Message);
            return ExitCodes.Rejected;
        }

        if (state.Erased)
        {
            Output.Error($"entity '{entityId}' was erased (its erase notice is version {state.Version}); it has no data and takes no events");
            return ExitCodes.Rejected;
        }

        if (args.Flag("--json"))
            Output.WriteJson(state.ToJson());
        else
            PrintText(state);
        if (!state.Exists)
            Output.Error($"entity '{entityId}' has applied no events");
        return state.Exists ? ExitCodes.Success : ExitCodes.Rejected;
    }

    private static void PrintText(EntityStateResult state)
    {
        var counts = string.Join(", ", state.CountsByType.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"));
        Console.Out.WriteLine($"""
            entity:        {state.EntityId}
            version:       {state.Version}
            events:        {state.EventCount}
            by type:       {(counts.Length == 0 ? "-" : counts)}
            last event:    {state.LastEventId ?? "-"} ({state.LastEventType ?? "-"}) at {state.LastEventAt?.ToString("O") ?? "-"}
            data:          {state.Data}
            node:          {state.Node}
            """);
    }
}
