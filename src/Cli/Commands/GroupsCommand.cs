using EventCluster.Cli.Terminal;
using EventCluster.Client;

namespace EventCluster.Cli.Commands;

/// <summary><c>groups</c>: every consumer group with its position and lag.</summary>
public static class GroupsCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        await using var client = settings.Client();
        Client.Subscriptions.GroupsResult groups;
        try
        {
            groups = await client.GroupsAsync();
        }
        catch (EventClusterRejectedException refused)
        {
            Output.Error(refused.Message);
            return ExitCodes.Rejected;
        }

        if (args.Flag("--json"))
        {
            Output.WriteJson(new { head = groups.Head, groups = groups.Groups });
            return ExitCodes.Success;
        }

        Tables.Write(["group", ">position", ">lag", "active", "confirmed"],
            groups.Groups.Select(g => (IReadOnlyList<string>)[g.Name, g.Position.ToString(), g.Lag.ToString(), g.Active ? "yes" : "no", g.UpdatedAt.ToString("O")]));
        Console.Out.WriteLine($"head position: {groups.Head}");
        return ExitCodes.Success;
    }
}
