using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;

namespace EventCluster.Cli.Commands;

/// <summary><c>status</c>: members, leader and shard placement.</summary>
public static class StatusCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        await using var client = settings.Client();
        var status = await client.StatusAsync();
        if (args.Flag("--json"))
        {
            Output.WriteJson(status);
            return ExitCodes.Success;
        }

        Console.Out.WriteLine($"leader: {status.Leader ?? "none"}   (as seen by {status.Node})");
        Console.Out.WriteLine();
        Tables.Write(["MEMBER", "STATUS", "REACHABLE", "ROLES"],
            status.Members.Select(m => (IReadOnlyList<string>)[m.Address, m.Status, m.Reachable ? "yes" : "NO", string.Join(",", m.Roles)]));
        Console.Out.WriteLine();
        Tables.Write(["NODE", ">SHARDS", ">ENTITIES"],
            status.Nodes.Select(n => (IReadOnlyList<string>)[n.Address, n.ShardCount.ToString(), n.EntityCount.ToString()]));
        return ExitCodes.Success;
    }
}
