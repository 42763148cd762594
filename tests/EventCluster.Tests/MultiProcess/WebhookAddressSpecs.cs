using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Webhooks that cannot reach inside, on real nodes: every blocked address class refused when a
/// subscription is created, a host name resolved then, and a name let through at creation
/// refused at connect time, its event parked with the reason.
/// </summary>
/// <remarks>
/// Nothing here may send a packet beyond this machine's loopback: every probe of a private or
/// link-local URL starts from the end with a type no event has, and is removed at once should it
/// be accepted by mistake; the only host name used is localhost.
/// </remarks>
public sealed class WebhookAddressSpecs
{
    public static TheoryData<string, string> BlockedUrls => new()
    {
        { "http://127.0.0.1:9/hook", "loopback" },
        { "http://127.1.2.3:9/hook", "loopback" },
        { "http://[::1]:9/hook", "loopback" },
        { "http://169.254.169.254/latest/meta-data", "link-local" },
        { "http://[fe80::1]:9/hook", "link-local" },
        { "http://10.0.0.1:9/hook", "private" },
        { "http://172.16.0.1:9/hook", "private" },
        { "http://172.31.255.254:9/hook", "private" },
        { "http://192.168.1.1:9/hook", "private" },
        { "http://[fc00::1]:9/hook", "private" },
        { "http://[fd12:3456::1]:9/hook", "private" },
        { "http://0.0.0.0:9/hook", "unspecified" },
        { "http://[::]:9/hook", "unspecified" },
        { "http://224.0.0.1:9/hook", "multicast" },
        { "http://[ff02::1]:9/hook", "multicast" },
        { "http://255.255.255.255:9/hook", "broadcast" },
        { "http://[::ffff:127.0.0.1]:9/hook", "IPv4-mapped loopback" },
        { "http://[::ffff:169.254.169.254]:9/hook", "IPv4-mapped link-local" },
        { "http://[::ffff:10.0.0.1]:9/hook", "IPv4-mapped private" },
        { "http://localhost:9/hook", "loopback" },
    };

    [Fact]
    public async Task Should_refuse_at_creation_every_blocked_address_class_and_a_host_name_that_resolves_to_one()
    {
        await using var cluster = await LocalCluster.StartAsync(1);
        using var http = Http(cluster.Nodes[0]);
        var refusals = new List<string>();
        foreach (var row in BlockedUrls)
        {
            var (url, kind) = ((string)row[0], (string)row[1]);
            var name = $"probe-{Guid.NewGuid():N}";
            var response = await http.PostAsync("/api/subscriptions", Json(Unmatched(name, url)));
            if (response.StatusCode == HttpStatusCode.Created)
                await http.DeleteAsync($"/api/subscriptions/{name}");
            var detail = (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())?["detail"] ?? "";
            refusals.Add($"{url}: {(int)response.StatusCode} {detail}");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: {response.StatusCode}");
            Assert.Contains($"is a {kind} address, which webhooks may not reach", detail);
        }

        Assert.Empty((await http.GetFromJsonNodeAsync("/api/subscriptions"))["subscriptions"]!.AsArray());
        Assert.All(refusals, line => Assert.Contains("--webhook-allowed-hosts", line));
    }

    [Fact]
    public async Task Should_park_an_event_whose_host_name_resolves_to_loopback_at_connect_time_and_send_nothing()
    {
        using var receiver = new WebhookReceiver();
        // A host-name rule: the name is accepted without resolving, and may reach private
        // addresses; loopback only opens to an address rule, so the connection is refused.
        await using var cluster = await LocalCluster.StartAsync(1, nodeArguments: ["--webhook-allowed-hosts", "localhost"]);
        using var http = Http(cluster.Nodes[0]);
        var type = $"rebound-{Guid.NewGuid():N}";
        var url = $"http://localhost:{receiver.Port}/hook";

        var created = await http.PostAsync("/api/subscriptions", Json($$"""{"name":"rebound","url":"{{url}}","from":"end","types":["{{type}}"],"maxAttempts":5}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/api/events", Json($$"""{"entityId":"rebound-1","type":"{{type}}"}"""))).StatusCode);

        JsonNode shown = null!;
        await Poll.UntilAsync(async () => (long)(shown = await http.GetFromJsonNodeAsync("/api/subscriptions/rebound"))["parked"]! == 1,
            TimeSpan.FromSeconds(30), "the event parked");
        var parked = Assert.Single(shown["parkedEvents"]!.AsArray())!;
        var error = (string)parked["lastError"]!;
        Assert.Contains("refused to connect to 'localhost'", error);
        Assert.Contains("is a loopback address, which webhooks may not reach", error);
        // Parked at the first refusal: the rules do not change between attempts.
        Assert.Equal(0, (long)shown["retries"]!);
        Assert.Empty(receiver.Deliveries);
    }

    private static HttpClient Http(NodeProcess node) =>
        new() { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A subscription from the end whose type no event has: accepted by mistake, it still sends nothing.</summary>
    private static string Unmatched(string name, string url) =>
        $$"""{"name":"{{name}}","url":"{{url}}","from":"end","types":["never-{{Guid.NewGuid():N}}"]}""";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}

/// <summary>Reading a JSON answer in one call.</summary>
internal static class HttpJson
{
    public static async Task<JsonNode> GetFromJsonNodeAsync(this HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
