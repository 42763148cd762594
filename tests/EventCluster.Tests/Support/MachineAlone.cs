namespace EventCluster.Tests.Support;

/// <summary>
/// The spec classes whose assertions hold only when their processes get the cores first. The
/// benchmark compares figures of one run; the membership specs assert that no healthy node is
/// ever seen unreachable during a graceful leave, how soon a crashed node's entities answer
/// again, that a paused or isolated node stops itself within a deadline, and that a send gives up
/// within 15 s while the journal's database is down. On two cores shared
/// with other specs' clusters at the same priority, heartbeats arrive late enough for the failure
/// detector to suspect healthy nodes.
/// <para>
/// The collection runs its classes one at a time, started first, beside the other collections:
/// its processes run at normal priority and every other spec's under nice 10
/// (<see cref="ChildProcesses.BackgroundNiceness"/>), so the others take only the CPU these
/// leave idle while they wait for failure detectors and hand-offs.
/// </para>
/// </summary>
[CollectionDefinition(Name)]
public sealed class MachineAlone
{
    public const string Name = "machine alone";
}

/// <summary>Base of the <see cref="MachineAlone"/> classes: their processes start at normal priority.</summary>
public abstract class TimingSensitiveSpec
{
    protected TimingSensitiveSpec() => ChildProcesses.RunInForeground();
}
