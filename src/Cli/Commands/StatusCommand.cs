using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Client.Connection;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;

namespace EventCluster.Cli.Commands;

/// <summary><c>status</c>: members, leader and shard placement.</summary>
public static class StatusCommand
{
    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        await using var client = settings.Client(TimeSpan.FromSeconds(30));
        var status = await client.StatusAsync();
        if (args.Flag("--json"))
        {
            Output.WriteJson(status);
            return ExitCodes.Success;
        }

        Console.Out.WriteLine($"leader: {status.Leader ?? "none"}   (as seen by {status.Node})");
        Console.Out.WriteLine();
        Console.Out.WriteLine($"{"MEMBER",-45} {"STATUS",-9} {"REACHABLE",-9} ROLES");
        foreach (var member in status.Members)
            Console.Out.WriteLine($"{member.Address,-45} {member.Status,-9} {(member.Reachable ? "yes" : "NO"),-9} {string.Join(",", member.Roles)}");
        Console.Out.WriteLine();
        Console.Out.WriteLine($"{"NODE",-45} {"SHARDS",6} {"ENTITIES",9}");
        foreach (var node in status.Nodes)
            Console.Out.WriteLine($"{node.Address,-45} {node.ShardCount,6} {node.EntityCount,9}");
        return ExitCodes.Success;
    }
}
