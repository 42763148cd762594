using Xunit.Abstractions;

namespace EventCluster.Tests.Support;

/// <summary>Skips a spec whose prerequisite is missing on this machine, saying which.</summary>
public static class Prerequisites
{
    /// <summary>Skips (with <paramref name="missing"/> as the reason, also printed) when it is not null.</summary>
    public static void SkipIfMissing(string? missing, ITestOutputHelper output)
    {
        if (missing is not null)
            output.WriteLine($"skipped: {missing}");
        Skip.If(missing is not null, missing);
    }
}
