using System.Globalization;

namespace EventCluster.Messages.Validation;

/// <summary>The comma-separated host:port list of seed nodes, as nodes and clients take it.</summary>
public static class SeedList
{
    /// <summary>Parses the list; throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static IReadOnlyList<string> Parse(string value) => ParseEndpoints(value, "--seeds", "seed");

    /// <summary>
    /// Parses a comma-separated host:port list given for <paramref name="option"/>; throws
    /// <see cref="FormatException"/> naming the bad entry as an <paramref name="entry"/>.
    /// </summary>
    public static IReadOnlyList<string> ParseEndpoints(string value, string option, string entry)
    {
        var endpoints = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (endpoints.Length == 0)
            throw new FormatException($"{option} needs at least one host:port");
        foreach (var endpoint in endpoints)
        {
            var colon = endpoint.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ||
                port is < 1 or > 65535)
                throw new FormatException($"{entry} '{endpoint}' is not host:port (port 1-65535)");
        }

        return endpoints;
    }
}
