namespace EventCluster.Tests.Support;

/// <summary>
/// The spec classes that saturate both cores for minutes and compare figures of one run (the
/// benchmark): they run after every other collection, alone, one class at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MachineAlone
{
    public const string Name = "machine alone";
}

/// <summary>
/// The spec classes whose assertions hold only when their processes get the cores first: that no
/// healthy node is ever seen unreachable during a graceful leave, how soon a crashed node's
/// entities answer again, that a paused or isolated node stops itself within a deadline, and that
/// a send gives up within 15 s while the journal's database is down. On two cores shared with
/// other specs' clusters at the same priority, heartbeats arrive late enough for the failure
/// detector to suspect healthy nodes.
/// <para>
/// The collection runs after every parallel one, its classes one at a time, at normal priority;
/// the benchmark (<see cref="MachineAlone"/>) follows. (Run beside the other classes, with theirs
/// under nice 10, it cut CI by a third, but the niced specs that load the journal hardest, such as
/// a burst of 10,000 new entities, then timed out their recoveries while these held the cores.)
/// </para>
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingSensitive
{
    public const string Name = "timing sensitive";
}

/// <summary>
/// Base of the <see cref="TimingSensitive"/> and <see cref="MachineAlone"/> classes: their
/// processes start at normal priority.
/// </summary>
public abstract class TimingSensitiveSpec
{
    protected TimingSensitiveSpec() => ChildProcesses.RunInForeground();
}
