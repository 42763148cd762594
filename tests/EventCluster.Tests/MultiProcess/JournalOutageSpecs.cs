using System.Diagnostics;
using System.Net;
using System.Text;
using EventCluster.Tests.Support;
using Npgsql;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// A journal database that is down or full: events get quick, clear errors (send exits 3 with the
/// reason, HTTP answers 503 with Retry-After), nothing acknowledged is lost, and the nodes take
/// events again by themselves once the database is back.
/// </summary>
[Collection(TimingSensitive.Name)]
public sealed class JournalOutageSpecs(ITestOutputHelper output) : TimingSensitiveSpec
{
    [SkippableFact]
    public async Task Should_answer_clearly_while_postgres_is_down_and_lose_nothing_once_it_is_back()
    {
        Prerequisites.SkipIfMissing(PostgresServer.Unavailable(), output);
        await using var server = await PostgresServer.StartAsync();
        await using var cluster = await LocalCluster.StartAsync(3, $"postgres:{server.ConnectionString}");
        var acked = Path.Combine(cluster.ScratchPath, "outage.jsonl");
        var load = cluster.ClientAsync("load", "--events", "12000", "--entities", "300", "--rate", "800", "--acked", acked, "--json");
        await Poll.UntilAsync(() => File.Exists(acked) && File.ReadLines(acked).Count() >= 1500, TimeSpan.FromSeconds(60),
            "1,500 events acknowledged before the outage");

        await server.StopAsync();
        var stopped = Stopwatch.StartNew();
        var entity = LocalCluster.AckedCounts(acked).Keys.First();
        var sendClock = Stopwatch.StartNew();
        var send = await cluster.ClientAsync("send", "--entity", entity, "--type", "t", "--data", "{}");
        var sendTook = sendClock.Elapsed;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        var post = await http.PostAsync("/api/events",
            new StringContent($$"""{"entityId":"{{entity}}","type":"t"}""", Encoding.UTF8, "application/json"));
        var postBody = await post.Content.ReadAsStringAsync();
        await Poll.UntilAsync(() => stopped.Elapsed >= TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), "a 10 s outage");

        await server.StartAgainAsync();
        var restartedTicks = DateTime.UtcNow.Ticks;
        var loaded = await load;
        var firstWrite = await ScalarAsync(server, $"SELECT min(created) FROM journal WHERE created >= {restartedTicks}");

        output.WriteLine($"send during the outage: exit {send.ExitCode} after {sendTook.TotalSeconds:0.0} s: {send.Stderr.Trim()}");
        output.WriteLine($"POST during the outage: {(int)post.StatusCode}, Retry-After {post.Headers.RetryAfter}: {postBody}");
        output.WriteLine($"first write {TimeSpan.FromTicks(Convert.ToInt64(firstWrite) - restartedTicks).TotalSeconds:0.00} s after the server was back; " +
                         $"load: {loaded.Json["acknowledged"]} acknowledged, {loaded.Json["retries"]} retries");
        Assert.Equal(3, send.ExitCode);
        Assert.Contains("not stored", send.Stderr);
        Assert.True(sendTook < TimeSpan.FromSeconds(15), $"send took {sendTook} to give up");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, post.StatusCode);
        Assert.NotNull(post.Headers.RetryAfter);
        // The reason, or (when the event reached its entity just as it stopped after a failed
        // write) the cluster's time-out; either way the answer says to resend the same id.
        Assert.Contains("retry with the same eventId", postBody);
        Assert.True(loaded.ExitCode == 0, loaded.ToString());
        Assert.Equal(12000, (int)loaded.Json["acknowledged"]!);
        await cluster.AssertVerifiedAsync(acked, 12000);
        Assert.Equal(3, cluster.Running.Count);
        // The journal's circuit breaker opened during the outage: calls failed at once instead of each waiting for the database.
        Assert.NotEmpty(cluster.SurvivorLinesMatching("Circuit Breaker is open"));
    }

    [SkippableFact]
    public async Task Should_refuse_events_on_a_full_disk_and_take_them_again_once_space_is_freed()
    {
        Prerequisites.SkipIfMissing(Environment.UserName == "root" ? null : $"mounting a small file system needs root (running as {Environment.UserName})",
            output);
        using var disk = new TempDirectory("eventcluster-full-disk");
        await ChildProcesses.RunToEndAsync("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", disk.Path);
        try
        {
            await using var cluster = await LocalCluster.StartAsync(3, $"sqlite:{Path.Combine(disk.Path, "journal.db")}");
            var acked = Path.Combine(cluster.ScratchPath, "before.jsonl");
            var before = await cluster.ClientAsync("load", "--events", "2000", "--entities", "100", "--acked", acked, "--json");
            Assert.True(before.ExitCode == 0, before.ToString());

            // Fill the file system to the last byte.
            var filler = Path.Combine(disk.Path, "filler");
            await using (var stream = File.Create(filler))
            {
                var block = new byte[64 * 1024];
                try
                {
                    while (true)
                        await stream.WriteAsync(block);
                }
                catch (IOException)
                {
                    // No space left: that is the point.
                }
            }

            // The journal's write-ahead log still has room for a while: a load fills it, then its
            // events are refused (each retried for 10 s) and it stops.
            var fullAcked = Path.Combine(cluster.ScratchPath, "full.jsonl");
            var full = await cluster.ClientAsync("load", "--events", "50000", "--entities", "5000", "--acked", fullAcked, "--json", "--timeout", "10");
            var refused = await cluster.ClientAsync("send", "--entity", "on-full-disk", "--type", "t");
            File.Delete(filler);
            var afterwards = await cluster.ClientAsync("send", "--entity", "after-full", "--type", "t", "--json", "--timeout", "60");

            output.WriteLine($"load on a full disk: exit {full.ExitCode}, {full.Json["acknowledged"]} acknowledged: {full.Stderr.Trim().Split('\n')[^1]}");
            output.WriteLine($"send on a full disk: exit {refused.ExitCode}: {refused.Stderr.Trim()}");
            Assert.Equal(3, full.ExitCode);
            Assert.Contains("not stored", full.Stderr);
            Assert.Equal(3, refused.ExitCode);
            Assert.Contains("not stored", refused.Stderr);
            Assert.True(afterwards.ExitCode == 0, afterwards.ToString());
            Assert.Equal(1, (int)afterwards.Json["version"]!);
            // Everything acknowledged before and while the disk was full is in the journal, once.
            await cluster.AssertVerifiedAsync(acked, 2000);
            await cluster.AssertVerifiedAsync(fullAcked, (int)full.Json["acknowledged"]!);
        }
        finally
        {
            await ChildProcesses.RunToEndAsync("umount", "-l", disk.Path);
        }
    }

    private static async Task<object?> ScalarAsync(PostgresServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
