using System.Text.Json;
using System.Text.RegularExpressions;

namespace EventCluster.Node.Api;

/// <summary>What every HTTP endpoint of the node answers alike: problems, the API token, JSON errors.</summary>
public static partial class ApiResults
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

    /// <summary>The bearer token of the request's <c>Authorization</c> header, or null.</summary>
    public static string? BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
    }

    /// <summary>True when no token is configured, or <paramref name="presented"/> is it (compared in constant time).</summary>
    public static bool TokenMatches(string? configured, string? presented) => Security.ApiToken.Matches(configured, presented);

    /// <summary>
    /// What is wrong with a JSON body and where, in the request's own terms (<paramref name="fields"/>
    /// lists the body's fields, <paramref name="kinds"/> the kind of value each takes): the parser's
    /// messages name .NET types, which mean nothing to a client and say too much about the node.
    /// </summary>
    public static string DescribeJson(JsonException ex, string fields, string kinds)
    {
        var where = $"at {ex.Path ?? "$"} (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})";
        if (ex.InnerException is InvalidOperationException inner && inner.Message.Contains("UTF-8", StringComparison.OrdinalIgnoreCase))
            return $"the text is not valid UTF-8 {where}";
        if (ex.Message.Contains("could not be mapped", StringComparison.Ordinal))
            return $"unknown field {where}; the fields are {fields}";
        if (ex.Message.Contains("could not be converted", StringComparison.Ordinal))
            return $"wrong kind of value {where}: {kinds}";
        var message = ex.Message;
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut > 0)
            message = message[..cut];
        message = DotNetNames().Replace(message, "the expected value");
        return $"{message.TrimEnd('.', ' ')} {where}";
    }

    [GeneratedRegex(@"(type '[^']*')|\b(System|EventCluster|Microsoft)\.[\w.+`\[\],]+")]
    private static partial Regex DotNetNames();
}
