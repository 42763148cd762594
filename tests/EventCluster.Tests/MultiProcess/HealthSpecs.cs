using System.Net;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The liveness and readiness probes of real nodes: ready only while the node is an Up member that
/// is not leaving, its shard region runs and its journal answers; not ready from the moment a
/// graceful leave begins, while the node still serves and hands its shards off.
/// </summary>
public sealed class HealthSpecs(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Should_stop_being_ready_when_a_graceful_leave_begins_while_the_node_still_serves_and_hands_off()
    {
        await using var cluster = await LocalCluster.StartAsync(2);
        var (staying, leaving) = (cluster.Nodes[0], cluster.Nodes[1]);
        // Up as a member comes first; its shard region and journal check follow within moments.
        await Poll.UntilAsync(async () => (await ProbeAsync(leaving, "/health/ready")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the node to be ready");
        var (readyStatus, ready) = await ProbeAsync(leaving, "/health/ready");
        var (liveStatus, live) = await ProbeAsync(leaving, "/health/live");
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("Healthy", (string?)ready["status"]);
        Assert.Equal(["akka.cluster.join", "eventcluster-journal", "eventcluster-member", "eventcluster-shard-region"],
            Checks(ready).Select(check => check.Name).Order());
        Assert.All(Checks(ready), check => Assert.Equal("Healthy", check.Status));
        Assert.Contains("sqlite journal answers", Checks(ready).Single(check => check.Name == "eventcluster-journal").Description);
        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal(["akka.actorsystem"], Checks(live).Select(check => check.Name));
        // Shards to hand off: the leaving node hosts some, as the other node has seen.
        await cluster.ShardsOnRecordAsync(leaving);

        leaving.Terminate();
        JsonNode? notReady = null;
        await Poll.UntilAsync(async () =>
        {
            var (status, body) = await ProbeAsync(leaving, "/health/ready");
            notReady = status == HttpStatusCode.ServiceUnavailable ? body : null;
            return notReady is not null;
        }, TimeSpan.FromSeconds(30), "the leaving node to answer 503 on /health/ready", TimeSpan.FromMilliseconds(20));
        // At once: the node is still alive and serving; the leave is not over.
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(leaving, "/health/live")).Status);
        Assert.False(leaving.HasExited);

        Assert.Equal("Unhealthy", (string?)notReady!["status"]);
        var member = Checks(notReady).Single(check => check.Name == "eventcluster-member");
        Assert.Equal("Unhealthy", member.Status);
        Assert.Contains("leaving the cluster", member.Description);
        Assert.Equal(0, await leaving.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await Poll.UntilAsync(() => staying.LinesMatching($"ShardsMoved reason=handoff from={leaving.Endpoint}").Count > 0,
            TimeSpan.FromSeconds(30), "the other node to log the hand-off");
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(staying, "/health/ready")).Status);
    }

    [SkippableFact]
    public async Task Should_be_ready_only_while_its_postgres_journal_answers()
    {
        Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);
        await using var database = await PostgresDatabase.CreateAsync();
        await using var cluster = await LocalCluster.StartAsync(1, $"postgres:{database.ConnectionString}");
        var node = cluster.Nodes[0];
        await Poll.UntilAsync(async () => (await ProbeAsync(node, "/health/ready")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the node to be ready");
        Assert.Contains("postgres journal answers",
            Checks((await ProbeAsync(node, "/health/ready")).Body).Single(check => check.Name == "eventcluster-journal").Description);

        // The database refuses the node: its connections are ended and no new one is let in.
        await OnServerAsync($"ALTER DATABASE {database.Name} ALLOW_CONNECTIONS false",
            $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database.Name}'");
        try
        {
            JsonNode? notReady = null;
            await Poll.UntilAsync(async () =>
            {
                var (status, body) = await ProbeAsync(node, "/health/ready");
                notReady = status == HttpStatusCode.ServiceUnavailable ? body : null;
                return notReady is not null;
            }, TimeSpan.FromSeconds(30), "the node to be not ready while its journal does not answer");
            var journal = Checks(notReady!).Single(check => check.Name == "eventcluster-journal");
            Assert.Equal("Unhealthy", journal.Status);
            Assert.All(Checks(notReady!).Where(check => check.Name != "eventcluster-journal"), check => Assert.Equal("Healthy", check.Status));
            Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(node, "/health/live")).Status);
        }
        finally
        {
            await OnServerAsync($"ALTER DATABASE {database.Name} ALLOW_CONNECTIONS true");
        }

        await Poll.UntilAsync(async () => (await ProbeAsync(node, "/health/ready")).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "the node to be ready again once its journal answers");
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> ProbeAsync(NodeProcess node, string path)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{node.HttpPort}{path}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }

    private static IReadOnlyList<(string Name, string Status, string Description)> Checks(JsonNode answer) =>
        answer["checks"]!.AsArray()
            .Select(check => ((string)check!["name"]!, (string)check["status"]!, (string?)check["description"] ?? ""))
            .ToList();

    private static async Task OnServerAsync(params string[] statements)
    {
        await using var connection = new NpgsqlConnection(Environment.GetEnvironmentVariable(PostgresDatabase.ServerVariable));
        await connection.OpenAsync();
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
