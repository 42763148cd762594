using System.Text.Json;
using System.Text.Json.Serialization;

namespace EventCluster.Messages;

/// <summary>
/// Marks a string property that holds a JSON document: it is written into the message as JSON
/// rather than as an escaped string, so a payload costs its own size on the wire and in the journal.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RawJsonAttribute() : JsonConverterAttribute(typeof(RawJsonConverter));

/// <summary>Reads and writes a JSON document held in a string without re-escaping it.</summary>
public sealed class RawJsonConverter : JsonConverter<string>
{
    /// <inheritdoc />
    public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.GetRawText();
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value);
}
