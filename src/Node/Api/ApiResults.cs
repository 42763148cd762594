using System.Text;
using System.Text.Json;

namespace EventCluster.Node.Api;

/// <summary>What every HTTP endpoint of the node answers alike: problems, JSON errors.</summary>
public static class ApiResults
{
    /// <summary>An <c>application/problem+json</c> answer.</summary>
    public static IResult Problem(int status, string title, string detail) =>
        Results.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>503 with <c>Retry-After</c>: try again (with the same request) shortly.</summary>
    public static IResult Unavailable(HttpContext http, string detail, string title = "unavailable", int retryAfterSeconds = 1)
    {
        http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problem(StatusCodes.Status503ServiceUnavailable, title, detail);
    }

    /// <summary>
    /// What is wrong with a JSON body and where, in the request's own terms (<paramref name="fields"/>
    /// lists the body's fields, <paramref name="kinds"/> the kind of value each takes). Told from the
    /// exception's structure (its path, position and inner exception), never from its message: the
    /// messages name .NET types, which mean nothing to a client and say too much about the node.
    /// </summary>
    public static string DescribeJson(JsonException ex, string fields, string kinds)
    {
        var where = $"at {ex.Path ?? "$"} (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})";
        return ex.InnerException switch
        {
            // Utf8JsonReader checks the encoding only when it transcodes a string, and wraps the decoder's failure.
            InvalidOperationException { InnerException: DecoderFallbackException } => $"the text is not valid UTF-8 {where}",
            // The reader's own error (malformed JSON, or nested too deep), rethrown by the serializer with the path.
            JsonException => $"the text is not well-formed JSON {where}",
            // A converter met a token it cannot read (a number for a string, a string for a number), or a number out of range.
            InvalidOperationException or FormatException or OverflowException => $"wrong kind of value {where}: {kinds}",
            // Without an inner exception the serializer refused the property itself: one the body does not
            // have, one given twice, or (for a list) a value that is not one.
            _ when LastProperty(ex.Path) is null => $"the body is not a JSON object {where}",
            _ when !Listed(fields, LastProperty(ex.Path)) => $"unknown field {where}; the fields are {fields}",
            _ => $"a field given twice or a wrong kind of value {where}: each field may be given once; {kinds}",
        };
    }

    /// <summary>The last property name of a JSON path such as <c>$.types[2]</c> or <c>$['odd name']</c>; null for the root.</summary>
    private static string? LastProperty(string? path)
    {
        var end = path ?? "$";
        while (end.EndsWith(']') && !end.EndsWith("']", StringComparison.Ordinal) && end.LastIndexOf('[') is > 0 and var index)
            end = end[..index];
        if (end.EndsWith("']", StringComparison.Ordinal) && end.LastIndexOf("['", StringComparison.Ordinal) is >= 0 and var open)
            return end[(open + 2)..^2];
        var dot = end.LastIndexOf('.');
        return dot < 0 ? null : end[(dot + 1)..];
    }

    /// <summary>True when <paramref name="name"/> is one of the fields in a list such as "a, b and c".</summary>
    private static bool Listed(string fields, string? name) =>
        name is not null && fields.Split([", ", " and "], StringSplitOptions.TrimEntries).Contains(name, StringComparer.Ordinal);
}
