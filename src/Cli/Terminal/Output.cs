using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EventCluster.Cli.Terminal;

/// <summary>Writes results: one JSON document with --json, readable text otherwise. Diagnostics go to standard error.</summary>
public static class Output
{
    /// <summary>camelCase, indented, payloads left unescaped.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Compact JSON for one line per record.</summary>
    public static readonly JsonSerializerOptions JsonLine = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Prints one JSON document on standard output.</summary>
    public static void WriteJson(object document) =>
        Console.Out.WriteLine(document is JsonNode node ? node.ToJsonString(Json) : JsonSerializer.Serialize(document, document.GetType(), Json));

    /// <summary>Prints an error line on standard error.</summary>
    public static void Error(string message) => Console.Error.WriteLine($"eventcluster: {message}");
}
