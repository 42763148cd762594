using System.Net;
using System.Security.Cryptography;
using System.Text;
using EventCluster.Node.Webhooks;
using EventCluster.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Webhook secrets at rest, on both databases: the journal database never holds a secret's bytes
/// (read directly, every table), deliveries carry a correct signature through restarts, a secret
/// stored in plain text by the previous release is sealed when a node starts with a key, and a
/// key is rotated: with the new key first and the old one second a node seals everything again,
/// after which the old key can go.
/// </summary>
public sealed class WebhookSecretsSpecs(ITestOutputHelper output)
{
    public static TheoryData<string> Databases => ClusterOn.Databases;

    private const string Secret = "sealed-s3cret-9f1c";
    private const string LegacySecret = "legacy-s3cret-47ab";

    [SkippableTheory]
    [MemberData(nameof(Databases))]
    public async Task Should_keep_secrets_out_of_the_journal_database_and_sign_after_restarts_and_a_key_rotation(string database)
    {
        using var keys = new TempDirectory("eventcluster-secrets");
        var keyFile = Path.Combine(keys.Path, "secrets.keys");
        var (oldKey, newKey) = (RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(oldKey));
        using var receiver = new WebhookReceiver();
        await using var on = await ClusterOn.StartAsync(database, 1, output, ["--secrets-key-file", keyFile, .. WebhookReceiver.NodeArguments]);
        var cluster = on.Cluster;
        var journal = cluster.Journal;
        // A subscription as the previous release stores it: its secret in plain text, no sealed column value.
        await ExecuteAsync(journal, $"""
            INSERT INTO eventcluster_webhook (name, url, types, entity_prefix, secret, max_attempts, concurrency, position, delivered, retries,
                last_error, runner, created)
            VALUES ('legacy', '{receiver.Url}', '["legacy"]', NULL, '{LegacySecret}', 3, 1, 0, 0, 0, NULL, NULL, 1)
            """);
        using (var http = Client(cluster.Nodes[0]))
        {
            var created = await http.PostAsync("/api/subscriptions", Json(
                $$"""{"name":"signed","url":"{{receiver.Url}}","types":["signed"],"secret":"{{Secret}}","from":"end"}"""));
            Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        }

        Assert.False(await JournalHoldsAsync(journal, Secret, wholeFile: true), "the secret is readable in the journal database");
        Assert.True(await JournalHoldsAsync(journal, LegacySecret), "the check finds a secret stored in plain text");
        Assert.Contains(WebhookSecrets.IdOf(oldKey), await SealedValuesAsync(journal));
        await AssertSignedDeliveriesAsync(cluster, receiver, 1);

        // Rotation, step 1: the new key first, the old one still there to open what it sealed.
        await File.WriteAllTextAsync(keyFile, $"{Convert.ToBase64String(newKey)}\n{Convert.ToBase64String(oldKey)}\n");
        var node = await RestartAsync(cluster);
        await Poll.UntilAsync(() => node.LinesMatching("2 stored secrets sealed again").Count > 0, TimeSpan.FromSeconds(30),
            "the node sealing both stored secrets under the new key");
        Assert.False(await JournalHoldsAsync(journal, LegacySecret), "the previous release's plain-text secret is still in the journal database");
        Assert.False(await JournalHoldsAsync(journal, Secret, wholeFile: true), "the secret is readable in the journal database");
        Assert.DoesNotContain(WebhookSecrets.IdOf(oldKey), await SealedValuesAsync(journal));

        // Step 2: the old key removed.
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(newKey));
        await RestartAsync(cluster);
        await AssertSignedDeliveriesAsync(cluster, receiver, 2);
        Assert.DoesNotContain(cluster.Nodes.SelectMany(n => n.Lines), line => line.Contains(Secret, StringComparison.Ordinal));
    }

    /// <summary>Sends one event per subscription; each must arrive signed with its subscription's secret.</summary>
    private static async Task AssertSignedDeliveriesAsync(LocalCluster cluster, WebhookReceiver receiver, int round)
    {
        using var http = Client(cluster.Running[0]);
        foreach (var type in new[] { "signed", "legacy" })
        {
            var sent = await http.PostAsync("/api/events", Json($$"""{"entityId":"{{type}}-{{round}}","type":"{{type}}"}"""));
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        }

        await Poll.UntilAsync(() => receiver.Confirmed.Count(d => d.EntityId.EndsWith($"-{round}", StringComparison.Ordinal)) == 2,
            TimeSpan.FromSeconds(30), $"round {round}'s two deliveries");
        foreach (var delivery in receiver.Confirmed.Where(d => d.EntityId.EndsWith($"-{round}", StringComparison.Ordinal)))
        {
            var secret = delivery.EntityId.StartsWith("signed", StringComparison.Ordinal) ? Secret : LegacySecret;
            Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), delivery.Body)),
                delivery.Headers["EventCluster-Signature"]);
        }
    }

    /// <summary>Stops the one node gracefully and starts it again on its port, with the key file as it is now.</summary>
    private static async Task<NodeProcess> RestartAsync(LocalCluster cluster)
    {
        var old = cluster.Running[0];
        old.Terminate();
        await old.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var node = cluster.StartNode(old.Port);
        using var http = Client(node);
        await Poll.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync("/health/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), "the restarted node to be ready");
        return node;
    }

    /// <summary>
    /// True when any value of any row of any table of the journal database holds <paramref name="text"/>'s
    /// bytes; with <paramref name="wholeFile"/>, on SQLite, anywhere in the database file and its WAL as well
    /// (free pages included: for a secret that was never stored in plain text).
    /// </summary>
    private static async Task<bool> JournalHoldsAsync(string journal, string text, bool wholeFile = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (wholeFile && journal.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            var path = journal["sqlite:".Length..];
            foreach (var file in new[] { path, path + "-wal", path + "-journal" }.Where(File.Exists))
            {
                await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy);
                if (copy.ToArray().AsSpan().IndexOf(bytes) >= 0)
                    return true;
            }
        }

        await using var connection = Open(journal);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = connection is SqliteConnection
                ? "SELECT name FROM sqlite_master WHERE type = 'table'"
                : "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                tables.Add(reader.GetString(0));
        }

        Assert.Contains("eventcluster_webhook", tables);
        foreach (var table in tables)
        {
            await using var rows = connection.CreateCommand();
            rows.CommandText = $"SELECT * FROM \"{table}\"";
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var value = reader.IsDBNull(i) ? null : reader.GetValue(i);
                    var held = value switch
                    {
                        byte[] blob => blob.AsSpan().IndexOf(bytes) >= 0,
                        null => false,
                        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!.Contains(text, StringComparison.Ordinal),
                    };
                    if (held)
                        return true;
                }
            }
        }

        return false;
    }

    private static async Task<string> SealedValuesAsync(string journal)
    {
        await using var connection = Open(journal);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT secret_sealed FROM eventcluster_webhook WHERE secret_sealed IS NOT NULL";
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            values.Add(reader.GetString(0));
        return string.Join("\n", values);
    }

    private static async Task ExecuteAsync(string journal, string sql)
    {
        await using var connection = Open(journal);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static System.Data.Common.DbConnection Open(string journal) => journal.StartsWith("sqlite:", StringComparison.Ordinal)
        ? new SqliteConnection($"Data Source={journal["sqlite:".Length..]};Pooling=False")
        : new NpgsqlConnection(journal["postgres:".Length..]);

    private static HttpClient Client(NodeProcess node) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
