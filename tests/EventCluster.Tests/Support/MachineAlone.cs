namespace EventCluster.Tests.Support;

/// <summary>
/// Spec classes in this collection run after every parallel one, alone: their assertions compare
/// figures of one run (throughput ratios, latency at half load) that other specs' load on the
/// same cores would distort.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MachineAlone
{
    public const string Name = "machine alone";
}
