using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventCluster.Messages.Commands;

namespace EventCluster.Messages.Validation;

/// <summary>The rules of the event model, applied identically by the client and the node.</summary>
public static class EventValidation
{
    /// <summary>Longest entity or event id.</summary>
    public const int MaxIdLength = 128;

    /// <summary>Longest event type.</summary>
    public const int MaxTypeLength = 64;

    /// <summary>Largest serialized payload, in UTF-8 bytes.</summary>
    public const int MaxDataBytes = 64 * 1024;

    /// <summary>Largest merged entity data, in UTF-8 bytes; an event that would grow it further is refused.</summary>
    public const int MaxStateDataBytes = 1024 * 1024;

    /// <summary>Checks an entity id; null when valid, else the reason.</summary>
    public static string? CheckEntityId(string? value) => CheckName("entity id", value, MaxIdLength);

    /// <summary>Checks an event id; null when valid, else the reason.</summary>
    public static string? CheckEventId(string? value) => CheckName("event id", value, MaxIdLength);

    /// <summary>Checks an event type; null when valid, else the reason.</summary>
    public static string? CheckType(string? value) => CheckName("event type", value, MaxTypeLength);

    /// <summary>Checks an entity id prefix (the same characters as an entity id); null when valid, else the reason.</summary>
    public static string? CheckEntityPrefix(string? value) => CheckName("entity prefix", value, MaxIdLength);

    /// <summary>Checks a group name; null when valid, else the reason.</summary>
    public static string? CheckGroup(string? value) => CheckName("group name", value, MaxIdLength);

    /// <summary>Checks a subscription filter; null when valid, else the first reason.</summary>
    public static string? CheckFilter(Subscriptions.EventFilter? filter)
    {
        if (filter is null)
            return "a filter is required";
        if (filter.Types is null)
            return "the filter's types are required (empty for every type)";
        if (filter.Types.Count > 100)
            return $"{filter.Types.Count} types given; the limit is 100";
        if (filter is { EntityId: not null, EntityPrefix: not null })
            return "give an entity or an entity prefix, not both";
        return filter.Types.Select(CheckType).FirstOrDefault(problem => problem is not null)
               ?? (filter.EntityId is null ? null : CheckEntityId(filter.EntityId))
               ?? (filter.EntityPrefix is null ? null : CheckEntityPrefix(filter.EntityPrefix));
    }

    /// <summary>Checks every field of an event; null when valid, else the first reason.</summary>
    public static string? Check(SubmitEvent e) =>
        CheckEntityId(e.EntityId) ?? CheckEventId(e.EventId) ?? CheckType(e.Type) ?? CheckData(e.Data);

    /// <summary>Checks that a payload is a JSON object within the size limit; null when valid.</summary>
    public static string? CheckData(string? json) => TryNormalizeData(json, out _, out var error) ? null : error;

    /// <summary>
    /// Parses a payload, requires a JSON object within <see cref="MaxDataBytes"/>, and returns it in
    /// compact form. No payload at all (null) is the empty object; an empty string is not JSON.
    /// </summary>
    public static bool TryNormalizeData(string? json, out string normalized, out string? error)
    {
        normalized = "{}";
        if (json is null)
        {
            error = null;
            return true;
        }

        if (string.IsNullOrWhiteSpace(json))
        {
            error = "data is empty; pass a JSON object, for example {} or {\"amount\":5}";
            return false;
        }

        if (Encoding.UTF8.GetByteCount(json) > MaxDataBytes * 4)
        {
            error = $"data is larger than {MaxDataBytes} bytes";
            return false;
        }

        JsonNode? node;
        try
        {
            // Duplicate keys are refused: a JSON object with two values for one key has no
            // single meaning, and the merge would fail on it later.
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            error = $"data is not valid JSON: {ex.Message}";
            return false;
        }

        if (node is not JsonObject)
        {
            error = "data must be a JSON object, for example {\"amount\":5}";
            return false;
        }

        normalized = node.ToJsonString();
        var size = Encoding.UTF8.GetByteCount(normalized);
        if (size > MaxDataBytes)
        {
            error = $"data is {size} bytes serialized; the limit is {MaxDataBytes} bytes";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Checks a name of up to <see cref="MaxIdLength"/> allowed characters; null when valid, else the reason.</summary>
    public static string? CheckName(string what, string? value, int maxLength = MaxIdLength)
    {
        if (string.IsNullOrEmpty(value))
            return $"{what} is required";
        if (value.Length > maxLength)
            return $"{what} is {value.Length} characters long; the limit is {maxLength}";
        foreach (var c in value)
        {
            if (!IsAllowed(c))
                return $"{what} '{Printable(value)}' contains '{Printable(c.ToString())}'; allowed are A-Z a-z 0-9 . _ : -";
        }

        return null;
    }

    private static bool IsAllowed(char c) =>
        c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or ':' or '-';

    /// <summary>At most <paramref name="length"/> characters of <paramref name="value"/>, control characters escaped, for quoting it in an error.</summary>
    public static string Printable(string value, int length = 40) =>
        string.Concat(value.Take(length).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
