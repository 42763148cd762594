using System.Net;
using System.Runtime.Loader;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Node.Api;
using EventCluster.Node.Hosting;
using EventCluster.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.Extensions.Configuration;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

namespace EventCluster.Tests.MultiProcess;

/// <summary>One node whose OpenAPI document the specs read, shared by the class.</summary>
public sealed class OpenApiNode : IAsyncLifetime
{
    /// <summary>The node.</summary>
    public LocalCluster Cluster { get; private set; } = null!;

    /// <summary>The node's HTTP address.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{Cluster.Nodes[0].HttpPort}");

    /// <summary>The text of <c>GET /openapi/v1.json</c>.</summary>
    public string Document { get; private set; } = "";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        Cluster = await LocalCluster.StartAsync(1);
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(ApiDocument.Path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Document = await response.Content.ReadAsStringAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Cluster is not null)
            await Cluster.DisposeAsync();
    }
}

/// <summary>
/// The node's OpenAPI document: valid OpenAPI 3, holding every endpoint the node maps (read from
/// the web application's own endpoint data source) with real schemas and its error answers, and
/// good enough for a generated client to send an event to a real node and read it back.
/// </summary>
public sealed class OpenApiSpecs(OpenApiNode node) : IClassFixture<OpenApiNode>
{
    [Fact]
    public async Task Should_describe_every_mapped_endpoint_in_a_valid_OpenAPI_3_document()
    {
        var (document, diagnostic) = await OpenApiDocument.LoadAsync(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(node.Document)), "json");
        var endpoints = await MappedEndpointsAsync();

        Assert.Empty(diagnostic!.Errors);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_0, diagnostic.SpecificationVersion);
        Assert.Empty(document!.Validate(Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet()) ?? []);
        Assert.True(endpoints.Count >= 15, $"only {endpoints.Count} endpoints found in the node's data source");
        var described = (document!.Paths ?? [])
            .SelectMany(path => (path.Value.Operations ?? []).Select(operation => (Path: path.Key, Method: operation.Key.Method.ToUpperInvariant(), Operation: operation.Value)))
            .ToList();
        foreach (var (path, method) in endpoints)
            Assert.True(described.Any(d => d.Path == path && d.Method == method), $"{method} {path} is mapped but not in the document");
        Assert.Equal(endpoints.Count, described.Count);

        foreach (var (path, method, operation) in described)
        {
            var where = $"{method} {path}";
            Assert.False(string.IsNullOrEmpty(operation.OperationId), $"{where} has no operationId");
            Assert.False(string.IsNullOrEmpty(operation.Summary), $"{where} has no summary");
            var responses = operation.Responses!;
            Assert.Contains(responses.Keys, status => status.StartsWith('2'));
            foreach (var (status, response) in responses.Where(r => r.Key.StartsWith('2')))
            {
                // A JSON answer has a schema with its fields, not an empty one.
                if (response.Content?.TryGetValue("application/json", out var json) == true && path != ApiDocument.Path.Replace("v1", "{documentName}"))
                    Assert.True(json.Schema is { } schema && (schema.Properties?.Count > 0 || schema.AllOf?.Count > 0),
                        $"{where} answers {status} with JSON of no described fields");
            }

            // Errors are problems; whatever takes input (parameters or a body) says how it refuses bad input.
            if (path.StartsWith("/api/", StringComparison.Ordinal))
                Assert.True(responses.Where(r => r.Key[0] is '4' or '5').All(r => r.Value.Content?.ContainsKey("application/problem+json") == true),
                    $"{where} does not describe its errors as problems");
            if (path.StartsWith("/api/", StringComparison.Ordinal) && (operation.Parameters?.Count > 0 || operation.RequestBody is not null))
                Assert.True(responses.ContainsKey("400"), $"{where} takes input but describes no 400");
            if (method is "POST" && path is "/api/events" or "/api/subscriptions")
                Assert.True(operation.RequestBody?.Content?["application/json"].Schema?.Properties?.Count > 0, $"{where} has no request schema");
        }

        foreach (var path in new[] { "/health/live", "/health/ready" })
        {
            var probe = described.Single(d => d.Path == path).Operation.Responses!;
            Assert.Equal(["200", "503"], probe.Keys.Order());
            Assert.Contains("checks", probe["503"].Content!["application/json"].Schema!.Properties!.Keys);
        }
    }

    [Fact]
    public async Task Should_send_an_event_and_read_it_back_with_a_client_generated_from_the_document()
    {
        var generated = new CSharpClientGenerator(await NSwag.OpenApiDocument.FromJsonAsync(node.Document), new CSharpClientGeneratorSettings
        {
            ClassName = "EventClusterApi",
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
            CSharpGeneratorSettings = { Namespace = "Generated", JsonLibrary = NJsonSchema.CodeGeneration.CSharp.CSharpJsonLibrary.SystemTextJson },
        }).GenerateFile();
        var assembly = Compile(generated);
        // The document names no server: the client sends to its HttpClient's base address.
        using var http = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var clientType = assembly.GetType("Generated.EventClusterApi")!;
        dynamic client = Activator.CreateInstance(clientType, http)!;
        var entity = $"openapi-{Guid.NewGuid():N}";
        // The body's class is whatever the generator named the operation's request schema.
        var requestType = clientType.GetMethods().First(method => method.Name == "SubmitEventAsync").GetParameters()[0].ParameterType;
        dynamic request = Activator.CreateInstance(requestType)!;
        request.EntityId = entity;
        request.Type = "deposit";
        request.EventId = "dep-1";
        request.Data = new Dictionary<string, object> { ["amount"] = 5, ["currency"] = "EUR" };

        var accepted = await client.SubmitEventAsync(request);
        var again = await client.SubmitEventAsync(request);
        var state = await client.GetEntityAsync(entity);
        Exception? missing = null;
        try
        {
            await client.GetEntityAsync($"never-{Guid.NewGuid():N}");
        }
        catch (Exception ex)
        {
            missing = ex;
        }

        Assert.Equal(entity, (string)accepted.EntityId);
        Assert.Equal(1L, (long)accepted.Version);
        Assert.False((bool)accepted.Duplicate);
        Assert.True((long?)accepted.Position > 0);
        Assert.True((bool)again.Duplicate);
        Assert.Equal(1L, (long)state.Version);
        Assert.Equal("dep-1", (string)state.LastEventId);
        var data = JsonNode.Parse(JsonSerializer.Serialize((object)state.Data))!;
        Assert.Equal(5, (int)data["amount"]!);
        Assert.Equal("EUR", (string?)data["currency"]);
        Assert.NotNull(missing);
        Assert.Equal(StatusCodes.Status404NotFound, (int)((dynamic)missing!).StatusCode);
    }

    /// <summary>Path and method of every route endpoint of the node's web application (built, not started).</summary>
    private static async Task<IReadOnlyList<(string Path, string Method)>> MappedEndpointsAsync()
    {
        var port = FreePorts.Next();
        var settings = NodeSettings.Load(["--port", port.ToString(), "--http-port", FreePorts.Next().ToString()], _ => null,
            new ConfigurationBuilder().Build());
        await using var app = NodeWebApplication.Build(settings);
        var endpoints = new List<(string, string)>();
        foreach (var endpoint in ((IEndpointRouteBuilder)app).DataSources.SelectMany(source => source.Endpoints).OfType<RouteEndpoint>())
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods;
            Assert.True(methods is { Count: > 0 }, $"{endpoint.RoutePattern.RawText} answers any method: give it its methods");
            endpoints.AddRange(methods!.Select(method => (ApiDocument.PathOf(endpoint.RoutePattern), method)));
        }

        return endpoints;
    }

    /// <summary>Compiles generated C# in memory against the running framework and loads it.</summary>
    private static System.Reflection.Assembly Compile(string code)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Select(path => MetadataReference.CreateFromFile(path));
        var compilation = CSharpCompilation.Create($"Generated{Guid.NewGuid():N}", [CSharpSyntaxTree.ParseText(code)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Disable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(20)));
        image.Position = 0;
        return new AssemblyLoadContext("generated-client", isCollectible: true).LoadFromStream(image);
    }
}
