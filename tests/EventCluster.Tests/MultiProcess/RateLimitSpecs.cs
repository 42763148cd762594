using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Node.Security;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// Per-client rate limits of a real node started with low limits: past its limit a client gets
/// 429 with <c>Retry-After</c> and a problem, while another client of the same node goes on
/// getting 2xx. Per token on a node with tokens, per address (127.0.0.1 and 127.0.0.2, both this
/// machine's loopback) on a node without.
/// </summary>
public sealed class RateLimitSpecs
{
    private const int WritesPerSecond = 5;
    private const int StreamsPerSecond = 2;

    [Fact]
    public async Task Should_answer_429_with_retry_after_to_a_token_past_its_limit_while_another_token_writes()
    {
        using var directory = new TempDirectory("eventcluster-limits");
        var tokens = Path.Combine(directory.Path, "tokens.json");
        await File.WriteAllTextAsync(tokens, $$"""
            [{"name":"flood","scopes":["read","write"],"sha256":"{{ApiTokens.HashHex("flood-token")}}"},
             {"name":"steady","scopes":["read","write"],"sha256":"{{ApiTokens.HashHex("steady-token")}}"}]
            """);
        await using var node = await StartAsync(directory, "--api-tokens", tokens);
        using var flood = Client(node, "flood-token");
        using var steady = Client(node, "steady-token");

        var refused = await PostUntilRefusedAsync(flood, "/api/events", i => $$"""{"entityId":"flood-{{i}}","type":"t"}""");

        await AssertTooManyAsync(refused, "token flood", "--rate-limit-writes");
        // Another token's bucket is full, and reads are not limited.
        Assert.Equal(HttpStatusCode.OK, (await steady.PostAsync("/api/events", Json("""{"entityId":"steady-1","type":"t"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await flood.GetAsync("/api/entities/steady-1")).StatusCode);
        // A batch counts as one write: refused while the bucket is empty.
        await AssertTooManyAsync(await PostUntilRefusedAsync(flood, "/api/events/batch", i => $$"""[{"entityId":"flood-b{{i}}","type":"t"}]"""),
            "token flood", "--rate-limit-writes");

        var ticketRefused = await PostUntilRefusedAsync(flood, "/api/stream-tickets", _ => null);
        await AssertTooManyAsync(ticketRefused, "token flood", "--rate-limit-streams");
        Assert.Equal(HttpStatusCode.Created, (await steady.PostAsync("/api/stream-tickets", null)).StatusCode);

        // The bucket refills: after the Retry-After the flooding token may write again.
        await Poll.UntilAsync(async () => (await flood.PostAsync("/api/events", Json("""{"entityId":"flood-later","type":"t"}"""))).IsSuccessStatusCode,
            TimeSpan.FromSeconds(10), "the flooding token writing again once its bucket refilled");
    }

    [Fact]
    public async Task Should_limit_each_client_address_on_its_own_without_tokens()
    {
        using var directory = new TempDirectory("eventcluster-limits");
        await using var node = await StartAsync(directory);
        using var first = Client(node, null, "127.0.0.1");
        using var second = Client(node, null, "127.0.0.2");

        var refused = await PostUntilRefusedAsync(first, "/api/events", i => $$"""{"entityId":"a-{{i}}","type":"t"}""");

        await AssertTooManyAsync(refused, "address 127.0.0.1", "--rate-limit-writes");
        var other = await second.PostAsync("/api/events", Json("""{"entityId":"b-1","type":"t"}"""));
        Assert.True(other.StatusCode == HttpStatusCode.OK, $"127.0.0.2 got {other.StatusCode}: {await other.Content.ReadAsStringAsync()}");
        // The stream itself counts against the stream limit.
        var streamRefused = await GetStreamUntilRefusedAsync(first);
        await AssertTooManyAsync(streamRefused, "address 127.0.0.1", "--rate-limit-streams");
    }

    private static async Task<NodeProcess> StartAsync(TempDirectory directory, params string[] arguments)
    {
        var port = FreePorts.Next();
        var node = NodeProcess.StartNode(port, FreePorts.Next(), [$"127.0.0.1:{port}"], $"sqlite:{Path.Combine(directory.Path, "journal.db")}",
            Path.Combine(directory.Path, "node"),
            extraArguments: ["--rate-limit-writes", WritesPerSecond.ToString(), "--rate-limit-streams", StreamsPerSecond.ToString(), .. arguments]);
        try
        {
            using var http = Client(node, null);
            await Poll.UntilAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the node to be ready");
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client of the node with <paramref name="token"/>, connecting from <paramref name="source"/> when given.</summary>
    private static HttpClient Client(NodeProcess node, string? token, string? source = null)
    {
        var handler = new SocketsHttpHandler();
        if (source is not null)
            handler.ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        var http = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>Posts bursts of 20 requests at once until one is refused; each other answer must be 2xx.</summary>
    private static async Task<HttpResponseMessage> PostUntilRefusedAsync(HttpClient http, string path, Func<int, string?> body)
    {
        for (var burst = 0; burst < 25; burst++)
        {
            var responses = await Task.WhenAll(Enumerable.Range(burst * 20, 20)
                .Select(i => http.PostAsync(path, body(i) is { } json ? Json(json) : null)));
            foreach (var response in responses.Where(r => r.StatusCode != HttpStatusCode.TooManyRequests))
                Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            if (responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests) is { } refused)
                return refused;
        }

        throw new Xunit.Sdk.XunitException($"25 bursts of 20 requests to {path}, none refused at a limit of {WritesPerSecond} per second");
    }

    private static async Task<HttpResponseMessage> GetStreamUntilRefusedAsync(HttpClient http)
    {
        for (var i = 0; i < 100; i++)
        {
            var response = await http.GetAsync("/api/events/stream?from=end", HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                return response;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            response.Dispose();
        }

        throw new Xunit.Sdk.XunitException($"100 streams opened in a row, none refused at a limit of {StreamsPerSecond} per second");
    }

    private static async Task AssertTooManyAsync(HttpResponseMessage response, string client, string option)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.True(retryAfter is { TotalSeconds: >= 1 and <= 60 }, $"Retry-After: {response.Headers.RetryAfter}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(429, (int)problem["status"]!);
        Assert.Equal("rate limit exceeded", (string?)problem["title"]);
        var detail = (string)problem["detail"]!;
        Assert.Contains(client, detail);
        Assert.Contains(option, detail);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
