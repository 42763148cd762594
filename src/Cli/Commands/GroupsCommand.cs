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
                Console.Out.WriteLine($"{"group",-30} {"position",12} {"lag",10}  {"active",-6}  confirmed");
                foreach (var group in list.Groups)
                    Console.Out.WriteLine($"{group.Name,-30} {group.Position,12} {group.Lag,10}  {(group.Active ? "yes" : "no"),-6}  {group.UpdatedAt:O}");
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
