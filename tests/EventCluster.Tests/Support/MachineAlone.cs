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
/// The collection runs after every parallel one, alone, its classes one at a time. (Running it
/// first, beside the others niced, cut CI by a fifth, but the niced specs' own crash fail-overs
/// then outlasted their deadlines while these loaded the cores.) Every process of the specs
/// starts under nice 10 except these (<see cref="ChildProcesses.BackgroundNiceness"/>): alone,
/// they run at normal priority beside whatever else the machine is doing.
/// </para>
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MachineAlone
{
    public const string Name = "machine alone";
}

/// <summary>Base of the <see cref="MachineAlone"/> classes: their processes start at normal priority.</summary>
public abstract class TimingSensitiveSpec
{
    protected TimingSensitiveSpec() => ChildProcesses.RunInForeground();
}
