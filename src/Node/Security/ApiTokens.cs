using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EventCluster.Node.Security;

/// <summary>What a token may do on the node's API.</summary>
[Flags]
public enum ApiScope
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>State, history, streams, groups, types, the cluster view.</summary>
    Read = 1,

    /// <summary>Events.</summary>
    Write = 2,

    /// <summary>Webhook subscriptions, event types, group resets, erasing.</summary>
    Admin = 4,

    /// <summary>Every scope: what the single <c>--api-token</c> grants.</summary>
    All = Read | Write | Admin,
}

/// <summary>One configured token: its name, its scopes and the SHA-256 of its text.</summary>
/// <param name="Name">The name logs and errors use; never the token.</param>
/// <param name="Scopes">What it may do.</param>
/// <param name="Sha256">SHA-256 of the token's UTF-8 text.</param>
public sealed record ApiTokenEntry(string Name, ApiScope Scopes, byte[] Sha256);

/// <summary>
/// The tokens a node accepts on its API, each stored as the SHA-256 of its text so that a leaked
/// configuration does not reveal it. No tokens: every surface is open.
/// </summary>
public sealed class ApiTokens
{
    /// <summary>The name the single token of <c>--api-token</c> goes by.</summary>
    public const string SingleTokenName = "api-token";

    /// <summary>No tokens configured.</summary>
    public static readonly ApiTokens None = new([]);

    private static readonly IReadOnlyDictionary<string, ApiScope> ScopeNames = new Dictionary<string, ApiScope>(StringComparer.Ordinal)
    {
        ["read"] = ApiScope.Read, ["write"] = ApiScope.Write, ["admin"] = ApiScope.Admin,
    };

    private ApiTokens(IReadOnlyList<ApiTokenEntry> entries) => Entries = entries;

    /// <summary>The configured tokens.</summary>
    public IReadOnlyList<ApiTokenEntry> Entries { get; }

    /// <summary>True when at least one token is configured, so every protected surface needs one.</summary>
    public bool Required => Entries.Count > 0;

    /// <summary>
    /// The tokens of the single <paramref name="token"/> (every scope) and the JSON array
    /// <paramref name="json"/> (<c>[{"name","scopes","sha256"}]</c>); either may be null.
    /// Throws <see cref="FormatException"/> naming <paramref name="source"/> and what is wrong.
    /// </summary>
    public static ApiTokens From(string? token, string? json, string source)
    {
        var entries = new List<ApiTokenEntry>();
        if (token is not null)
            entries.Add(new ApiTokenEntry(SingleTokenName, ApiScope.All, Hash(token)));
        if (json is not null)
            entries.AddRange(Parse(json, source));
        var twice = entries.GroupBy(entry => entry.Name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (twice is not null)
            throw new FormatException($"{source}: the token name '{twice.Key}' is used twice" +
                (twice.Key == SingleTokenName ? $" ('{SingleTokenName}' is the name of the --api-token token)" : ""));
        return entries.Count == 0 ? None : new ApiTokens(entries);
    }

    /// <summary>The hex SHA-256 of a token's UTF-8 text, as <c>eventcluster tokens hash</c> prints it.</summary>
    public static string HashHex(string token) => Convert.ToHexStringLower(Hash(token));

    /// <summary>The scope names of <paramref name="scopes"/>, as the tokens file spells them.</summary>
    public static string Describe(ApiScope scopes) =>
        string.Join(", ", ScopeNames.Where(pair => scopes.HasFlag(pair.Value)).Select(pair => pair.Key));

    /// <summary>
    /// The entry <paramref name="presented"/> is the token of, or null. Every entry is compared,
    /// in constant time, whatever matches: the time taken says nothing about which one did.
    /// </summary>
    public ApiTokenEntry? Find(string? presented)
    {
        if (presented is null || Entries.Count == 0)
            return null;
        var hash = Hash(presented);
        ApiTokenEntry? found = null;
        foreach (var entry in Entries)
            if (CryptographicOperations.FixedTimeEquals(hash, entry.Sha256))
                found = entry;
        return found;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static List<ApiTokenEntry> Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{source} is not well-formed JSON (line {(ex.LineNumber ?? 0) + 1}): expected [{{\"name\", \"scopes\", \"sha256\"}}, ...]");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
                throw new FormatException($"{source} must be a JSON array of {{\"name\", \"scopes\", \"sha256\"}}");
            return document.RootElement.EnumerateArray().Select((element, index) => Entry(element, $"{source}: token {index + 1}")).ToList();
        }
    }

    private static ApiTokenEntry Entry(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{where} must be an object with name, scopes and sha256");
        var unknown = element.EnumerateObject().Select(p => p.Name).FirstOrDefault(name => name is not ("name" or "scopes" or "sha256"));
        if (unknown is not null)
            throw new FormatException($"{where} has an unknown field '{unknown}'; the fields are name, scopes and sha256");
        var name = element.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : null;
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || name.Any(char.IsControl))
            throw new FormatException($"{where} needs a name: a string of 1 to 100 printable characters");
        var sha = element.TryGetProperty("sha256", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigit))
            throw new FormatException($"{where} ('{name}'): sha256 must be the 64 hex digits of the token's SHA-256 (eventcluster tokens hash)");
        if (!element.TryGetProperty("scopes", out var scopes) || scopes.ValueKind != JsonValueKind.Array || scopes.GetArrayLength() == 0)
            throw new FormatException($"{where} ('{name}'): scopes must be a non-empty array of \"read\", \"write\", \"admin\"");
        var granted = ApiScope.None;
        foreach (var scope in scopes.EnumerateArray())
        {
            if (scope.ValueKind != JsonValueKind.String || !ScopeNames.TryGetValue(scope.GetString()!, out var value))
                throw new FormatException($"{where} ('{name}'): unknown scope {scope.GetRawText()}; the scopes are read, write and admin");
            granted |= value;
        }

        return new ApiTokenEntry(name, granted, Convert.FromHexString(sha));
    }
}
