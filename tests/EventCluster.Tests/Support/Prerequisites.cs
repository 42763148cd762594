using Xunit.Abstractions;

namespace EventCluster.Tests.Support;

/// <summary>
/// What a spec does when a tool, server or privilege it needs is missing: under CI (<c>CI</c> set)
/// it fails naming what is missing, so a broken install step cannot turn half the suite into
/// silent passes; on a developer's machine it skips and prints why.
/// </summary>
public static class Prerequisites
{
    public const string CiVariable = "CI";

    public static bool UnderCi => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(CiVariable)) &&
                                  !string.Equals(Environment.GetEnvironmentVariable(CiVariable), "false", StringComparison.OrdinalIgnoreCase);

    /// <summary>Fails under CI, else skips, when <paramref name="missing"/> (the reason) is not null.</summary>
    public static void SkipIfMissing(string? missing, ITestOutputHelper output)
    {
        if (missing is null)
            return;
        if (UnderCi)
            Assert.Fail($"missing under CI: {missing}");
        output.WriteLine($"skipped: {missing}");
        Skip.If(true, missing);
    }
}
