using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using EventCluster.Node.Api;
using EventCluster.Node.Hosting;
using EventCluster.Node.Security;
using EventCluster.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// One real node with tokens of each scope, the single every-scope token, a closed /metrics and a
/// local webhook receiver: what <see cref="AccessSpecs"/> probes.
/// </summary>
public sealed class AccessNode : IAsyncLifetime
{
    /// <summary>The scoped tokens: name, token text, scope.</summary>
    public static readonly (string Name, string Token, ApiScope Scope)[] Scoped =
    [
        ("reader", "reader-7f3a9c", ApiScope.Read),
        ("writer", "writer-91cd42", ApiScope.Write),
        ("admin", "admin-c0de55", ApiScope.Admin),
    ];

    /// <summary>The token of <c>--api-token</c>: every scope.</summary>
    public const string EveryScope = "every-scope-0b1e";

    private readonly TempDirectory _directory = new("eventcluster-access");

    /// <summary>The node.</summary>
    public NodeProcess Node { get; private set; } = null!;

    /// <summary>The node's arguments besides its addresses and journal.</summary>
    public string[] AccessArguments { get; private set; } = [];

    /// <summary>A receiver for the subscriptions the probes create; none of them matches an event.</summary>
    public WebhookReceiver Receiver { get; } = new();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var file = Path.Combine(_directory.Path, "tokens.json");
        await File.WriteAllTextAsync(file, "[" + string.Join(",", Scoped.Select(t =>
            $$"""{"name":"{{t.Name}}","scopes":["{{ApiTokens.Describe(t.Scope)}}"],"sha256":"{{ApiTokens.HashHex(t.Token)}}"}""")) + "]");
        AccessArguments = ["--api-tokens", file, "--api-token", EveryScope, "--protect-metrics", "true", .. WebhookReceiver.NodeArguments];
        var port = FreePorts.Next();
        Node = NodeProcess.StartNode(port, FreePorts.Next(), [$"127.0.0.1:{port}"], $"sqlite:{Path.Combine(_directory.Path, "journal.db")}",
            Path.Combine(_directory.Path, "node"), extraArguments: AccessArguments);
        using var http = Client(null);
        await Poll.UntilAsync(async () => (await http.GetAsync("/health/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "the node to be ready");
    }

    /// <summary>A client of the node that sends <paramref name="token"/> as its bearer token (none when null).</summary>
    public HttpClient Client(string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Node.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Node is not null)
            await Node.DisposeAsync();
        Receiver.Dispose();
        _directory.Dispose();
    }
}

/// <summary>
/// Tokens with scopes on every surface of a real node: each route of the node's own endpoint data
/// source probed without a token, with a token of another scope and with the right one; the
/// stream ticket; the every-scope token; webhook management through the native client.
/// </summary>
public sealed class AccessSpecs(AccessNode access, ITestOutputHelper output) : IClassFixture<AccessNode>
{
    /// <summary>A request that succeeds on each route with the right token; routes are keyed "METHOD pattern".</summary>
    private sealed record Probe(HttpMethod Method, string Path, string? Body = null);

    [Fact]
    public async Task Should_answer_every_api_route_401_without_a_token_403_with_another_scope_and_2xx_with_its_own()
    {
        var routes = NodeRoutes();
        using var writer = access.Client(Token(ApiScope.Write));
        using var admin = access.Client(Token(ApiScope.Admin));
        var entity = $"probe-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await writer.PostAsync("/api/events", Json($$"""{"entityId":"{{entity}}","type":"probed"}"""))).StatusCode);
        // Erased by the admin's probe: every other probe reads or writes the entity above.
        var doomed = $"probe-erased-{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await writer.PostAsync("/api/events", Json($$"""{"entityId":"{{doomed}}","type":"probed"}"""))).StatusCode);
        foreach (var name in new[] { "probe-kept", "probe-doomed" })
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/api/subscriptions", Json(Subscription(name)))).StatusCode);

        var probes = new Dictionary<string, Func<Probe>>(StringComparer.Ordinal)
        {
            ["GET /api/cluster"] = () => new(HttpMethod.Get, "/api/cluster"),
            ["GET /api/metrics"] = () => new(HttpMethod.Get, "/api/metrics"),
            ["GET /metrics"] = () => new(HttpMethod.Get, "/metrics"),
            ["POST /api/stream-tickets"] = () => new(HttpMethod.Post, "/api/stream-tickets"),
            ["POST /api/events"] = () => new(HttpMethod.Post, "/api/events", $$"""{"entityId":"{{entity}}","type":"probed"}"""),
            ["POST /api/events/batch"] = () => new(HttpMethod.Post, "/api/events/batch", $$"""[{"entityId":"{{entity}}","type":"probed"}]"""),
            ["GET /api/entities/{id}"] = () => new(HttpMethod.Get, $"/api/entities/{entity}"),
            ["GET /api/entities/{id}/events"] = () => new(HttpMethod.Get, $"/api/entities/{entity}/events"),
            ["DELETE /api/entities/{id}"] = () => new(HttpMethod.Delete, $"/api/entities/{doomed}"),
            ["GET /api/groups"] = () => new(HttpMethod.Get, "/api/groups"),
            ["GET /api/events/stream"] = () => new(HttpMethod.Get, "/api/events/stream?from=end"),
            ["POST /api/subscriptions"] = () => new(HttpMethod.Post, "/api/subscriptions", Subscription($"probe-{Guid.NewGuid():N}")),
            ["GET /api/subscriptions"] = () => new(HttpMethod.Get, "/api/subscriptions"),
            ["GET /api/subscriptions/{name}"] = () => new(HttpMethod.Get, "/api/subscriptions/probe-kept"),
            ["DELETE /api/subscriptions/{name}"] = () => new(HttpMethod.Delete, "/api/subscriptions/probe-doomed"),
            ["POST /api/subscriptions/{name}/parked/replay"] = () => new(HttpMethod.Post, "/api/subscriptions/probe-kept/parked/replay"),
        };
        var unknown = routes.Where(route => !probes.ContainsKey(route.Key)).Select(route => route.Key).ToList();
        Assert.True(unknown.Count == 0, $"routes without a probe request in AccessSpecs: {string.Join(", ", unknown)}");
        Assert.Contains("POST /api/events", routes.Keys);
        Assert.Contains("GET /metrics", routes.Keys);

        var answers = new List<string>();
        foreach (var (route, scope) in routes)
        {
            var other = AccessNode.Scoped.First(t => !t.Scope.HasFlag(scope));
            var without = await SendAsync(null, probes[route]());
            var wrong = await SendAsync(other.Token, probes[route]());
            var right = await SendAsync(Token(scope), probes[route]());
            answers.Add($"{route} [{ApiTokens.Describe(scope)}]: {(int)without} / {(int)wrong} ({other.Name}) / {(int)right}");
            Assert.True(without == HttpStatusCode.Unauthorized, $"{route} without a token: {without}");
            Assert.True(wrong == HttpStatusCode.Forbidden, $"{route} with the {other.Name} token: {wrong}");
            Assert.True((int)right is >= 200 and < 300, $"{route} with the {ApiTokens.Describe(scope)} token: {right}");
        }

        output.WriteLine(string.Join("\n", answers));
        using var anonymous = access.Client(null);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Should_open_the_stream_with_a_ticket_that_only_a_reader_gets_and_nothing_else_accepts()
    {
        using var reader = access.Client(Token(ApiScope.Read));
        using var writer = access.Client(Token(ApiScope.Write));
        using var anonymous = access.Client(null);

        var issued = await reader.PostAsync("/api/stream-tickets", null);
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var ticket = (string)JsonNode.Parse(await issued.Content.ReadAsStringAsync())!["ticket"]!;
        using (var stream = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/events/stream?from=end&ticket={Uri.EscapeDataString(ticket)}"),
                   HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
            Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        }

        var forged = ticket[..^2] + (ticket[^2] == 'A' ? "BA" : "AA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/events/stream?from=end&ticket={Uri.EscapeDataString(forged)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/groups?ticket={Uri.EscapeDataString(ticket)}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await writer.PostAsync("/api/stream-tickets", null)).StatusCode);
        Assert.DoesNotContain(access.Node.Lines, line => line.Contains(ticket[..20], StringComparison.Ordinal));
        Assert.DoesNotContain(access.Node.Lines, line => AccessNode.Scoped.Any(t => line.Contains(t.Token, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Should_let_the_single_token_do_everything_and_guard_webhook_management_on_the_native_path_by_scope()
    {
        using var everything = access.Client(AccessNode.EveryScope);
        Assert.Equal(HttpStatusCode.OK, (await everything.PostAsync("/api/events", Json("""{"entityId":"every-1","type":"t"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await everything.GetAsync("/api/entities/every-1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await everything.GetAsync("/api/subscriptions")).StatusCode);

        var seeds = access.Node.Endpoint;
        var hashed = await ClientRun.RunWithInputAsync(Token(ApiScope.Read) + "\n", "tokens", "hash");
        var asReader = await ClientRun.RunAsync(["webhooks", "list", "--json", "--seeds", seeds, "--api-token", Token(ApiScope.Read)]);
        var asAdmin = await ClientRun.RunAsync(["webhooks", "list", "--json", "--seeds", seeds, "--api-token", Token(ApiScope.Admin)]);

        Assert.True(hashed.ExitCode == 0, hashed.ToString());
        Assert.Equal(ApiTokens.HashHex(Token(ApiScope.Read)), hashed.Stdout.Trim());
        Assert.True(asReader.ExitCode == 1, asReader.ToString());
        Assert.Contains("admin", asReader.Stderr);
        Assert.True(asAdmin.ExitCode == 0, asAdmin.ToString());

        // Erasing over Akka.Remote is admin's too: a writer is refused and the entity keeps its data.
        Assert.Equal(HttpStatusCode.OK, (await everything.PostAsync("/api/events", Json("""{"entityId":"every-2","type":"t","data":{"k":1}}"""))).StatusCode);
        var eraseAsWriter = await ClientRun.RunAsync(["erase", "--entity", "every-2", "--seeds", seeds, "--api-token", Token(ApiScope.Write)]);
        Assert.True(eraseAsWriter.ExitCode == 1, eraseAsWriter.ToString());
        Assert.Contains("needs admin", eraseAsWriter.Stderr);
        Assert.Equal(HttpStatusCode.OK, (await everything.GetAsync("/api/entities/every-2")).StatusCode);
        var eraseAsAdmin = await ClientRun.RunAsync(["erase", "--entity", "every-2", "--seeds", seeds, "--api-token", Token(ApiScope.Admin)]);
        Assert.True(eraseAsAdmin.ExitCode == 0, eraseAsAdmin.ToString());
        Assert.Equal(HttpStatusCode.Gone, (await everything.GetAsync("/api/entities/every-2")).StatusCode);
    }

    /// <summary>
    /// Every route of the node's endpoint data source under /api, and every other one that
    /// declares a scope (/metrics here), with the scope it declares: the node's own web
    /// application, built from the same arguments and not started.
    /// </summary>
    private Dictionary<string, ApiScope> NodeRoutes()
    {
        var settings = NodeSettings.Load([.. access.AccessArguments, "--port", "1", "--http-port", "2", "--journal", "sqlite:unused.db"], _ => null,
            new ConfigurationBuilder().Build());
        var app = NodeWebApplication.Build(settings);
        try
        {
            var routes = new Dictionary<string, ApiScope>(StringComparer.Ordinal);
            foreach (var endpoint in ((IEndpointRouteBuilder)app).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>())
            {
                var pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/');
                var scope = endpoint.Metadata.GetMetadata<RequiredScope>()?.Scope;
                if (!pattern.StartsWith("/api", StringComparison.Ordinal) && scope is null)
                    continue;
                Assert.True(scope is not null, $"{pattern} declares no scope");
                foreach (var method in endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                    routes[$"{method} {pattern}"] = scope.Value;
            }

            return routes;
        }
        finally
        {
            ((IDisposable)app).Dispose();
        }
    }

    private async Task<HttpStatusCode> SendAsync(string? token, Probe probe)
    {
        using var http = access.Client(token);
        using var request = new HttpRequestMessage(probe.Method, probe.Path) { Content = probe.Body is null ? null : Json(probe.Body) };
        // Headers only: the stream's answer never ends.
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return response.StatusCode;
    }

    private static string Token(ApiScope scope) => AccessNode.Scoped.Single(t => t.Scope == scope).Token;

    /// <summary>A subscription no event matches, from the end: it never sends anything.</summary>
    private string Subscription(string name) =>
        $$"""{"name":"{{name}}","url":"{{access.Receiver.Url}}","from":"end","types":["never-{{Guid.NewGuid():N}}"]}""";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
