using System.Globalization;

namespace EventCluster.Messages.Subscriptions;

/// <summary>How clients and the HTTP API spell where a reader starts.</summary>
public static class Positions
{
    /// <summary>
    /// Parses <c>start</c> (after position 0: everything), <c>end</c> (<see cref="ReadEventLog.FromEnd"/>:
    /// only what comes next) or a position (everything after it); false for anything else.
    /// </summary>
    public static bool TryParseFrom(string? value, out long after)
    {
        after = 0;
        switch (value)
        {
            case "start":
                return true;
            case "end":
                after = ReadEventLog.FromEnd;
                return true;
            default:
                return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out after);
        }
    }
}
