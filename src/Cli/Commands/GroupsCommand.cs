using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Client.Connection;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Cli.Commands;

/// <summary><c>groups</c>: every subscriber group with its position and lag.</summary>
public static class GroupsCommand
{
    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var total = settings.Timeout ?? TimeSpan.FromSeconds(30);
        await using var connection = settings.Connect();
        var requestId = Guid.NewGuid().ToString("N");
        var reply = await connection.ListenOnceAsync(requestId, new GetGroups(requestId), total, "the groups");

        switch (reply)
        {
            case GroupList list when args.Flag("--json"):
                Output.WriteJson(new { head = list.Head, groups = list.Groups });
                return ExitCodes.Success;
            case GroupList list:
                Tables.Write(["group", ">position", ">lag", "active", "confirmed"],
                    list.Groups.Select(g => (IReadOnlyList<string>)[g.Name, g.Position.ToString(), g.Lag.ToString(), g.Active ? "yes" : "no", g.UpdatedAt.ToString("O")]));
                Console.Out.WriteLine($"head position: {list.Head}");
                return ExitCodes.Success;
            case SubscriptionRefused refused:
                Output.Error($"refused: {refused.Reason}");
                return refused.Retryable ? ExitCodes.Unreachable : ExitCodes.Rejected;
            default:
                throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}");
        }
    }
}
