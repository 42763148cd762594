using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Client.Cli;
using EventCluster.Client.Connection;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Validation;

namespace EventCluster.Client.Commands;

/// <summary><c>get</c>: prints an entity's state.</summary>
public static class GetCommand
{
    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, IReadOnlyList<string> seeds, TimeSpan? timeout)
    {
        args.AllowOnly("--entity", "--json");
        var entityId = args.Required("--entity");
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new UsageException(problem);
        var total = timeout ?? TimeSpan.FromSeconds(30);

        await using var connection = ClusterConnection.Connect(seeds);
        object reply;
        try
        {
            reply = await connection.GetStateAsync(entityId, total);
        }
        catch (TimeoutException)
        {
            throw ConnectionErrors.NoAnswer(seeds, total, $"entity {entityId}");
        }

        switch (reply)
        {
            case EntityStateResult state:
                if (args.Flag("--json"))
                    Output.WriteJson(state.ToJson());
                else
                    PrintText(state);
                if (!state.Exists)
                    Output.Error($"entity '{entityId}' has applied no events");
                return state.Exists ? ExitCodes.Success : ExitCodes.Rejected;
            case QueryRejected rejected:
                Output.Error($"rejected: {rejected.Reason}");
                return ExitCodes.Rejected;
            default:
                throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}");
        }
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
