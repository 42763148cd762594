using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// An erase cut short by kill -9 of the node hosting the entity, on SQLite and on PostgreSQL: no
/// reader ever sees the entity half erased, and running the erase again completes it, with one
/// erase notice whatever the moment of the crash.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class EraseCrashSpecs(ITestOutputHelper output) : TimingSensitiveSpec
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_never_show_a_half_erased_entity_and_complete_the_erase_when_run_again_after_a_crash(string database)
    {
        await using var on = await ClusterOn.StartAsync(database, 3, output);
        var cluster = on.Cluster;
        var run = Guid.NewGuid().ToString("N")[..10];
        var entity = $"ec-{run}";
        var marker = $"MARKER-{run}-CRASH";
        using var first = Http(cluster.Nodes[0]);
        var batch = string.Join("\n", Enumerable.Range(1, 1000).Select(i =>
            $$$"""{"entityId":"{{{entity}}}","type":"profile","eventId":"e{{{i}}}","data":{"secret":"{{{marker}}}"}}"""));
        var stored = await first.PostAsync("/api/events/batch", new StringContent(batch, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        var host = (string)JsonNode.Parse(await first.GetStringAsync($"/api/entities/{entity}"))!["node"]!;
        var victim = cluster.Nodes.Single(node => host.EndsWith($"@{node.Endpoint}", StringComparison.Ordinal));
        using var http = Http(cluster.Nodes.First(node => node != victim));

        // The erase starts through another node; the entity's node dies while it runs.
        var interrupted = http.DeleteAsync($"/api/entities/{entity}");
        victim.Kill();
        var answer = await interrupted;
        output.WriteLine($"{database}: the interrupted erase answered {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");

        // Until it is run again successfully, every read shows either all the data or none of it.
        var reads = 0;
        var halfErased = new List<string>();
        await Poll.UntilAsync(async () =>
        {
            if (Whole(await HistoryAsync(http, entity), marker) is { } problem)
                halfErased.Add(problem);
            reads++;
            return (await http.DeleteAsync($"/api/entities/{entity}")).StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(90), "the erase to complete when run again");
        Assert.Empty(halfErased);

        var history = await HistoryAsync(http, entity);
        Assert.Equal(1001, history.Count);
        Assert.All(history.Take(1000), e => Assert.Equal("$erased", (string)e!["type"]!));
        Assert.Equal("$entity-erased", (string)history[1000]!["type"]!);
        var after = JsonNode.Parse(await http.GetStringAsync($"/api/entities/{entity}/events?from=1002"))!["events"]!.AsArray();
        Assert.Empty(after);
        Assert.Equal(HttpStatusCode.Gone, (await http.GetAsync($"/api/entities/{entity}")).StatusCode);
        Assert.Equal(0, await CountRowsWithAsync(cluster, marker));
        output.WriteLine($"{database}: {reads} reads during the failover, each whole; erased after a re-run");
    }

    /// <summary>Null when the history is whole: every event with its data, or tombstones and the notice; otherwise what it showed.</summary>
    private static string? Whole(JsonArray history, string marker)
    {
        var erased = history.Count(e => (bool?)e!["erased"] == true);
        var withData = history.Count(e => e!.ToJsonString().Contains(marker, StringComparison.Ordinal));
        return (erased == 0 && withData == 1000) || (erased == 1001 && withData == 0)
            ? null
            : $"a half-erased entity: {erased} erased records, {withData} with data, of {history.Count}";
    }

    private static async Task<JsonArray> HistoryAsync(HttpClient http, string entity)
    {
        var page = JsonNode.Parse(await http.GetStringAsync($"/api/entities/{entity}/events?limit=1000"))!["events"]!.AsArray();
        var more = JsonNode.Parse(await http.GetStringAsync($"/api/entities/{entity}/events?from=1001"))!["events"]!.AsArray();
        return new JsonArray([.. page.Select(e => e!.DeepClone()), .. more.Select(e => e!.DeepClone())]);
    }

    /// <summary>Journal rows and snapshots whose bytes hold <paramref name="marker"/>, read straight from the database.</summary>
    private static async Task<int> CountRowsWithAsync(LocalCluster cluster, string marker)
    {
        System.Data.Common.DbConnection connection = cluster.Journal.StartsWith("postgres:", StringComparison.Ordinal)
            ? new NpgsqlConnection(cluster.Journal["postgres:".Length..] + ";Pooling=false")
            : new SqliteConnection($"Data Source={cluster.Journal["sqlite:".Length..]};Pooling=false;Mode=ReadOnly");
        await using (connection)
        {
            await connection.OpenAsync();
            var count = 0;
            foreach (var sql in new[] { "SELECT message FROM journal", "SELECT snapshot FROM snapshot" })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                    count += !reader.IsDBNull(0) && Encoding.UTF8.GetString((byte[])reader.GetValue(0)).Contains(marker, StringComparison.Ordinal) ? 1 : 0;
            }

            return count;
        }
    }

    private static HttpClient Http(NodeProcess node) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
}
