using EventCluster.Client.Cli;
using EventCluster.Client.Connection;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;

namespace EventCluster.Client.Commands;

/// <summary><c>status</c>: members, leader and shard placement.</summary>
public static class StatusCommand
{
    /// <summary>Runs the command.</summary>
    public static async Task<int> RunAsync(Arguments args, IReadOnlyList<string> seeds, TimeSpan? timeout)
    {
        args.AllowOnly("--json");
        var total = timeout ?? TimeSpan.FromSeconds(30);
        await using var connection = ClusterConnection.Connect(seeds);
        object reply;
        try
        {
            reply = await connection.GetStatusAsync(total);
        }
        catch (TimeoutException)
        {
            throw ConnectionErrors.NoAnswer(seeds, total, "the cluster status");
        }

        if (reply is QueryRejected rejected)
        {
            Output.Error(rejected.Reason);
            return ExitCodes.Unreachable;
        }

        var status = (ClusterStatusResult)reply;
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
