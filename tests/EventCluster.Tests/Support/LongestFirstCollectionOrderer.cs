using Xunit.Abstractions;

[assembly: TestCollectionOrderer("EventCluster.Tests.Support.LongestFirstCollectionOrderer", "EventCluster.Tests")]

namespace EventCluster.Tests.Support;

/// <summary>
/// Starts the spec classes that take longest first, so that the parallel run (xunit.runner.json)
/// does not end with one long class running alone: the longest classes by name, then real node
/// processes, then the quick tiers. (The <see cref="TimingSensitive"/> and then the
/// <see cref="MachineAlone"/> collection run after all of these, alone.)
/// </summary>
public sealed class LongestFirstCollectionOrderer : ITestCollectionOrderer
{
    private static readonly string[] TiersByCost = [".MultiProcess.", ".Deployment.", ".InProcess.", ".Unit."];

    // The classes that take longest, longest first (CI's results file: each class's start and
    // end), so that none of them starts last and runs on alone.
    private static readonly string[] Longest =
    [
        ".RollingUpgradeSpecs", ".ListenerSpecs", ".WebhookSpecs", ".PostgresJournalSpecs", ".MultiProcessClusterSpecs", ".ClientLibrarySpecs",
        ".TlsSpecs", ".ClusterRestartSpecs",
    ];

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(Tier).ThenBy(collection => collection.DisplayName, StringComparer.Ordinal);

    private static int Tier(ITestCollection collection)
    {
        if (collection.DisplayName == TimingSensitive.Name)
            return -Longest.Length - 1;
        var longest = Array.FindIndex(Longest, name => collection.DisplayName.Contains(name, StringComparison.Ordinal));
        if (longest >= 0)
            return longest - Longest.Length;
        var index = Array.FindIndex(TiersByCost, tier => collection.DisplayName.Contains(tier, StringComparison.Ordinal));
        return index < 0 ? TiersByCost.Length : index;
    }
}
