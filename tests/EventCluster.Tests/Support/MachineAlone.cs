namespace EventCluster.Tests.Support;

/// <summary>
/// Spec classes in this collection run after every parallel one, alone: their assertions hold
/// only on cores that are not saturated by other specs' clusters. The benchmark compares figures
/// of one run; the membership specs assert that no healthy node is ever seen unreachable during a
/// graceful leave, how soon a crashed node's entities answer again, and that a paused or
/// isolated node stops itself within a deadline. On two cores shared with three other clusters,
/// heartbeats arrive late enough for the failure detector to suspect healthy nodes.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MachineAlone
{
    public const string Name = "machine alone";
}
