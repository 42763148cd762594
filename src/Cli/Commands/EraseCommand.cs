using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Validation;

namespace EventCluster.Cli.Commands;

/// <summary><c>erase</c>: erases an entity (admin scope when the nodes have tokens).</summary>
public static class EraseCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var entityId = args.Required("--entity");
        if (EventValidation.CheckEntityId(entityId) is { } problem)
            throw new UsageException(problem);
        var fromEnvironment = Environment.GetEnvironmentVariable("EVENTCLUSTER_API_TOKEN");
        var token = args.Value<string>("--api-token") ?? (string.IsNullOrWhiteSpace(fromEnvironment) ? null : fromEnvironment.Trim());
        await using var client = settings.Client(token);
        EraseResult erased;
        try
        {
            erased = await client.EraseAsync(entityId);
        }
        catch (EventClusterRejectedException refused)
        {
            Output.Error(refused.Message);
            return ExitCodes.Rejected;
        }

        if (args.Flag("--json"))
            Output.WriteJson(new
            {
                entityId = erased.EntityId, erasedEvents = erased.ErasedEvents, version = erased.Version, position = erased.Position,
                alreadyErased = erased.AlreadyErased, warning = erased.Reason,
            });
        else
            Console.Out.WriteLine(erased.AlreadyErased
                ? $"entity {erased.EntityId} was already erased (erase notice: version {erased.Version}, position {erased.Position})"
                : $"erased entity {erased.EntityId}: {erased.ErasedEvents} events are tombstones now; erase notice: version {erased.Version}, position {erased.Position}");
        if (erased.Reason is { } warning)
            Output.Error(warning);
        return ExitCodes.Success;
    }
}
