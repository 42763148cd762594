using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Erasing an entity with real nodes, the real client and a real webhook receiver, on SQLite and
/// on PostgreSQL: one two-node cluster per database, shared by the specs of this class. The
/// journal's tables are read directly afterwards, for the erased data's bytes.
/// </summary>
public sealed class EraseSpecs(EraseSpecs.Clusters clusters, ITestOutputHelper output) : IClassFixture<EraseSpecs.Clusters>
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_erase_a_live_entity_from_every_read_path_and_the_journal_and_leave_its_neighbours_alone(string database)
    {
        var cluster = await clusters.GetAsync(database, output);
        using var http = Http(cluster);
        using var receiver = new WebhookReceiver();
        var run = Guid.NewGuid().ToString("N")[..10];
        var target = $"er-{run}-doomed";
        var neighbour = $"er-{run}-kept";
        var marker = $"MARKER-{run}-ERASE-ME";
        var keptMarker = $"MARKER-{run}-KEEP-ME";
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/api/subscriptions",
            Json($$"""{"name":"erase-{{run}}","url":"{{receiver.Url}}","from":"end","entityPrefix":"er-{{run}}-"}"""))).StatusCode);

        // The default load's shape beside it (many entities, one type), and 1,000 events of the
        // target carrying the marker: the entity snapshots at version 1,000, so its snapshot holds the marker too.
        var acked = Path.Combine(cluster.ScratchPath, $"{run}.acked.jsonl");
        var load = cluster.ClientAsync("load", "--events", "2000", "--entities", "100", "--entity-prefix", $"ld-{run}-", "--acked", acked, "--json");
        var batch = string.Join("\n", Enumerable.Range(1, 1000).Select(i =>
            $$$"""{"entityId":"{{{target}}}","type":"profile","eventId":"{{{target}}}-{{{i}}}","data":{"secret":"{{{marker}}}","n":{{{i}}}}}"""));
        var stored = await http.PostAsync("/api/events/batch", new StringContent(batch, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal(1000, (int)JsonNode.Parse(await stored.Content.ReadAsStringAsync())!["accepted"]!);
        Assert.Equal(HttpStatusCode.OK, (await Send(http, neighbour, "n-1", keptMarker)).StatusCode);
        var before = (await GetJsonAsync(http, $"/api/entities/{target}/events?limit=1000"))["events"]!.AsArray();
        var positions = before.Select(e => (long)e!["position"]!).ToList();
        await Poll.UntilAsync(async () => (await ReadTablesAsync(cluster)).Snapshots.Any(s => s.Contains(marker, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "the target's snapshot at version 1000");
        await using var follower = SubscriberProcess.Start(cluster.SeedList, "--from", "start", "--entity", target);
        await follower.WaitForEventsAsync(1000, TimeSpan.FromSeconds(30));
        Assert.True((await load).ExitCode == 0, "load failed");

        // Erased while live (it just took its events and is being read), through the command line.
        var erased = await cluster.ClientAsync("erase", "--entity", target, "--json");

        Assert.True(erased.ExitCode == 0, erased.ToString());
        Assert.Equal(1000, (long)erased.Json["erasedEvents"]!);
        Assert.Equal(1001, (long)erased.Json["version"]!);
        var noticePosition = (long)erased.Json["position"]!;
        Assert.True(noticePosition > positions[^1]);

        // State: gone, and closed to new events, an old event id included.
        var state = await http.GetAsync($"/api/entities/{target}");
        Assert.Equal(HttpStatusCode.Gone, state.StatusCode);
        Assert.DoesNotContain(marker, await state.Content.ReadAsStringAsync());
        var get = await cluster.ClientAsync("get", "--entity", target);
        Assert.True(get.ExitCode == 1 && get.Stderr.Contains("was erased"), get.ToString());
        foreach (var eventId in new[] { $"{target}-1", $"{target}-new" })
        {
            var refused = await Send(http, target, eventId, marker);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("was erased", await refused.Content.ReadAsStringAsync());
        }

        // History over HTTP and the command line: the same positions, as tombstones, then the notice.
        var history = (await GetJsonAsync(http, $"/api/entities/{target}/events?limit=1000")).ToJsonString();
        Assert.DoesNotContain(marker, history);
        var records = JsonNode.Parse(history)!["events"]!.AsArray();
        Assert.Equal(positions, records.Select(e => (long)e!["position"]!));
        Assert.All(records, e => AssertTombstone(e!, "$erased"));
        var last = await GetJsonAsync(http, $"/api/entities/{target}/events?from=1001");
        AssertTombstone(last["events"]![0]!, "$entity-erased");
        Assert.Equal(noticePosition, (long)last["events"]![0]!["position"]!);
        var cliHistory = await cluster.ClientAsync("history", "--entity", target, "--from", "999");
        Assert.True(cliHistory.ExitCode == 0, cliHistory.ToString());
        Assert.Contains("(erased)", cliHistory.Stdout);
        Assert.Contains("(entity erased)", cliHistory.Stdout);
        Assert.DoesNotContain(marker, cliHistory.Stdout);

        // Subscriptions: a new one from the start sees tombstones at the same positions and the notice;
        // the one that followed it live sees the notice; a type filter passes the notice only.
        var subscribed = await cluster.ClientAsync("subscribe", "--from", "start", "--entity", target, "--max", "1001", "--json");
        Assert.True(subscribed.ExitCode == 0, subscribed.ToString());
        Assert.DoesNotContain(marker, subscribed.Stdout);
        var lines = subscribed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([.. positions, noticePosition], lines.Select(l => (long)l["position"]!));
        Assert.All(lines, l => Assert.True((bool)l["erased"]!));
        var typed = await cluster.ClientAsync("subscribe", "--from", "start", "--entity", target, "--type", "profile", "--max", "1", "--json");
        Assert.True(typed.ExitCode == 0, typed.ToString());
        Assert.Equal(noticePosition, (long)JsonNode.Parse(typed.Stdout)!["position"]!);
        await follower.WaitForEventsAsync(1001, TimeSpan.FromSeconds(30));
        Assert.Equal("$entity-erased", follower.Events[^1].GetProperty("type").GetString());

        // Server-Sent Events from the start of the log.
        var streamed = await ReadStreamAsync(http, $"/api/events/stream?entity={target}", 1001);
        Assert.DoesNotContain(marker, string.Join("\n", streamed));
        Assert.All(streamed, s => Assert.True((bool)JsonNode.Parse(s)!["erased"]!));

        // Webhooks: the receiver hears the erase notice, marked as such.
        await Poll.UntilAsync(() => receiver.Confirmed.Any(d => d.EntityId == target && d.Headers.GetValueOrDefault("EventCluster-Erased") == "entity"),
            TimeSpan.FromSeconds(30), "the webhook's erase notice");
        var notice = receiver.Confirmed.Last(d => d.EntityId == target);
        Assert.Equal(noticePosition, notice.Position);
        Assert.DoesNotContain(marker, Encoding.UTF8.GetString(notice.Body));

        // The journal's own tables: no byte of the marker left in events or snapshots; the neighbour's intact.
        var tables = await ReadTablesAsync(cluster);
        Assert.DoesNotContain(tables.Events, message => message.Contains(marker, StringComparison.Ordinal));
        Assert.DoesNotContain(tables.Snapshots, snapshot => snapshot.Contains(marker, StringComparison.Ordinal));
        Assert.Contains(tables.Events, message => message.Contains(keptMarker, StringComparison.Ordinal));
        Assert.Equal(1001, tables.ErasedRows[$"entity-{target}"]);
        Assert.False(tables.ErasedRows.ContainsKey($"entity-{neighbour}"));

        // Neighbours: state and history untouched, the load's events all there once.
        Assert.Contains(keptMarker, (await GetJsonAsync(http, $"/api/entities/{neighbour}")).ToJsonString());
        await cluster.AssertVerifiedAsync(acked, 2000);

        // Again: safe, changes nothing; an unknown entity is not erased.
        var again = await cluster.ClientAsync("erase", "--entity", target, "--json");
        Assert.True(again.ExitCode == 0 && (bool)again.Json["alreadyErased"]! && (long)again.Json["position"]! == noticePosition, again.ToString());
        var unknown = await http.DeleteAsync($"/api/entities/er-{run}-never");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.DeleteAsync("/api/entities/not%20valid")).StatusCode);
        output.WriteLine($"{database}: erased {target}: notice at {noticePosition}; {tables.Events.Count} journal rows searched");
    }

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_erase_events_of_a_retained_type_once_old_enough_keeping_their_ids_and_the_entity(string database)
    {
        var cluster = await clusters.GetAsync(database, output);
        using var http = Http(cluster);
        var run = Guid.NewGuid().ToString("N")[..10];
        var entity = $"rt-{run}";
        var marker = $"MARKER-{run}-EXPIRES";
        var keptMarker = $"MARKER-{run}-STAYS";
        foreach (var (id, type, mark) in new[] { ("r1", "expiring", marker), ("r2", "kept", keptMarker), ("r3", "expiring", marker) })
        {
            var sent = await http.PostAsync("/api/events", Json($$$"""{"entityId":"{{{entity}}}","type":"{{{type}}}","eventId":"{{{id}}}","data":{"m":"{{{mark}}}"}}"""));
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }

        JsonArray events = [];
        await Poll.UntilAsync(async () =>
        {
            events = (await GetJsonAsync(http, $"/api/entities/{entity}/events"))["events"]!.AsArray();
            return events.Count(e => (bool?)e!["erased"] == true) == 2;
        }, TimeSpan.FromSeconds(30), "the expiring events to become tombstones");

        Assert.Equal(["r1", "r2", "r3"], events.Select(e => (string)e!["eventId"]!));
        Assert.Equal(["$erased", "kept", "$erased"], events.Select(e => (string)e!["type"]!));
        Assert.DoesNotContain(marker, events.ToJsonString());
        Assert.Contains(keptMarker, events.ToJsonString());
        await Poll.UntilAsync(async () =>
        {
            var read = await cluster.ClientAsync("subscribe", "--from", "start", "--entity", entity, "--max", "3", "--json");
            return read.ExitCode == 0 && !read.Stdout.Contains(marker) && read.Stdout.Contains(keptMarker);
        }, TimeSpan.FromSeconds(15), "subscribers to see the tombstones");
        var tables = await ReadTablesAsync(cluster);
        Assert.DoesNotContain(tables.Events, message => message.Contains(marker, StringComparison.Ordinal));
        Assert.Contains(tables.Events, message => message.Contains(keptMarker, StringComparison.Ordinal));
        Assert.Equal(2, tables.ErasedRows[$"entity-{entity}"]);

        // The entity stays open, and a resend of an erased event's id is still a duplicate.
        var resent = await http.PostAsync("/api/events", Json($$$"""{"entityId":"{{{entity}}}","type":"expiring","eventId":"r1","data":{}}"""));
        Assert.True((bool)JsonNode.Parse(await resent.Content.ReadAsStringAsync())!["duplicate"]!);
        var next = JsonNode.Parse(await (await http.PostAsync("/api/events", Json($$"""{"entityId":"{{entity}}","type":"kept","eventId":"r4"}"""))).Content.ReadAsStringAsync())!;
        Assert.Equal(4, (long)next["version"]!);
    }

    private static void AssertTombstone(JsonNode record, string type)
    {
        Assert.True((bool)record["erased"]!, record.ToJsonString());
        Assert.Equal(type, (string)record["type"]!);
        Assert.Equal("", (string)record["eventId"]!);
        Assert.Equal("{}", record["data"]!.ToJsonString());
    }

    private static Task<HttpResponseMessage> Send(HttpClient http, string entity, string eventId, string marker) =>
        http.PostAsync("/api/events", Json($$$"""{"entityId":"{{{entity}}}","type":"profile","eventId":"{{{eventId}}}","data":{"secret":"{{{marker}}}"}}"""));

    /// <summary>The data lines of the stream's events until <paramref name="count"/> arrived.</summary>
    private static async Task<List<string>> ReadStreamAsync(HttpClient http, string path, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var data = new List<string>();
        string? name = null;
        while (data.Count < count && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
                name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && name == "event")
                data.Add(line[6..]);
        }

        return data;
    }

    /// <summary>Every journal message and snapshot as text, and the erased rows per persistence id, read straight from the database.</summary>
    private static async Task<(List<string> Events, List<string> Snapshots, Dictionary<string, long> ErasedRows)> ReadTablesAsync(
        Support.LocalCluster cluster)
    {
        System.Data.Common.DbConnection connection = cluster.Journal.StartsWith("postgres:", StringComparison.Ordinal)
            ? new NpgsqlConnection(cluster.Journal["postgres:".Length..] + ";Pooling=false")
            : new SqliteConnection($"Data Source={cluster.Journal["sqlite:".Length..]};Pooling=false;Mode=ReadOnly");
        await using (connection)
        {
            await connection.OpenAsync();
            var events = await ColumnAsync(connection, "SELECT message FROM journal");
            var snapshots = await ColumnAsync(connection, "SELECT snapshot FROM snapshot");
            var erased = new Dictionary<string, long>();
            await using var command = connection.CreateCommand();
            command.CommandText = cluster.Journal.StartsWith("postgres:", StringComparison.Ordinal)
                ? "SELECT persistence_id, COUNT(*) FROM journal WHERE erased GROUP BY persistence_id"
                : "SELECT persistence_id, COUNT(*) FROM journal WHERE erased = 1 GROUP BY persistence_id";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                erased[reader.GetString(0)] = reader.GetInt64(1);
            return (events, snapshots, erased);
        }
    }

    private static async Task<List<string>> ColumnAsync(System.Data.Common.DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            values.Add(reader.IsDBNull(0) ? "" : Encoding.UTF8.GetString((byte[])reader.GetValue(0)));
        return values;
    }

    private static HttpClient Http(Support.LocalCluster cluster) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[^1].HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<JsonNode> GetJsonAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>One two-node cluster per database, whose webhooks may reach this machine's receivers, erasing events of type expiring after 2 s.</summary>
    public sealed class Clusters : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly Dictionary<string, ClusterOn> _started = [];

        public async Task<Support.LocalCluster> GetAsync(string database, ITestOutputHelper output)
        {
            await _gate.WaitAsync();
            try
            {
                if (!_started.TryGetValue(database, out var on))
                    _started[database] = on = await ClusterOn.StartAsync(database, 2, output, [.. WebhookReceiver.NodeArguments, "--retention", "expiring=2s"]);
                return on.Cluster;
            }
            finally
            {
                _gate.Release();
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            foreach (var on in _started.Values)
                await on.DisposeAsync();
        }
    }
}
