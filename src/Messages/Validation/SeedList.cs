using System.Globalization;

namespace EventCluster.Messages.Validation;

/// <summary>The comma-separated host:port list of seed nodes, as nodes and clients take it.</summary>
public static class SeedList
{
    /// <summary>Parses the list; throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static IReadOnlyList<string> Parse(string value)
    {
        var seeds = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (seeds.Length == 0)
            throw new FormatException("--seeds needs at least one host:port");
        foreach (var seed in seeds)
        {
            var colon = seed.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(seed[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ||
                port is < 1 or > 65535)
                throw new FormatException($"seed '{seed}' is not host:port (port 1-65535)");
        }

        return seeds;
    }
}
