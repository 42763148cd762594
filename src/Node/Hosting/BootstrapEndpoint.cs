using System.Collections.Immutable;
using System.Net;
using Akka.Actor;
using Akka.Cluster;
using Akka.Management.Cluster.Bootstrap.ContactPoint;
using Newtonsoft.Json;
using static Akka.Management.Cluster.Bootstrap.ContactPoint.HttpBootstrapJsonProtocol;

namespace EventCluster.Node.Hosting;

/// <summary>
/// The management endpoint that cluster bootstrap probes: <c>GET /bootstrap/seed-nodes</c>, this node's
/// address and the members it can vouch for, in Akka.Management's own JSON (its
/// <see cref="HttpBootstrapJsonProtocol"/> types, serialized as its route serializes them).
/// </summary>
/// <remarks>
/// Served on Kestrel rather than through <c>AkkaManagement.Start()</c> for two reasons. Akka.Http.Shim
/// 1.5.73 calls Ceen.Httpd 0.9.9's <c>HttpServer.ListenAsync(IPEndPoint, ...)</c>, and the package feed
/// has only 0.9.10, whose method takes an <c>EndPoint</c>: the start fails with a missing method. And
/// Ceen's listener does not reuse its address, so a node restarted right after a crash could not bind
/// its port while the old connections linger in TIME_WAIT. The answer follows Akka.Management's route:
/// a node on its way out vouches for no one, otherwise for the reachable Up, WeaklyUp and Joining members.
/// </remarks>
internal static class BootstrapEndpoint
{
    /// <summary>Starts the endpoint on <paramref name="bind"/>; disposing the result stops it.</summary>
    public static async Task<IAsyncDisposable> StartAsync(ActorSystem system, IPEndPoint bind, int maxSeedNodes)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(bind));
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.MapGet("/bootstrap/seed-nodes", () => Results.Text(SeedNodesJson(Akka.Cluster.Cluster.Get(system), maxSeedNodes), "application/json"));
        await app.StartAsync();
        return app;
    }

    private static string SeedNodesJson(Akka.Cluster.Cluster cluster, int maxSeedNodes)
    {
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return JsonConvert.SerializeObject(new SeedNodes(self.UniqueAddress.Address, []));
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(maxSeedNodes)
            .Select(m => new ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles))
            .ToImmutableList();
        return JsonConvert.SerializeObject(new SeedNodes(self.UniqueAddress.Address, members));
    }
}
