namespace EventCluster.Tests.Support;

/// <summary>
/// The membership spec classes, whose assertions hold only when their processes get the cores
/// first: no healthy node is ever seen unreachable during a graceful leave, a crashed node's
/// entities answer again within a deadline, and a paused or isolated node stops itself within
/// one. On two cores shared with other specs' clusters at the same priority, heartbeats arrive
/// late enough for the failure detector to suspect healthy nodes.
/// <para>
/// The collection runs its classes one at a time, started first, beside the other collections:
/// its processes run at normal priority and every other spec's under nice 10
/// (<see cref="ChildProcesses.BackgroundNiceness"/>), so the others take only the CPU these
/// leave idle while they wait for failure detectors and hand-offs. Its specs put load on the
/// cluster for seconds at a time, never for minutes: a spec that saturates the cores for long
/// would starve every other spec past its deadlines, and belongs in <see cref="BenchmarkAlone"/>.
/// </para>
/// </summary>
[CollectionDefinition(Name)]
public sealed class MachineAlone
{
    public const string Name = "machine alone";
}

/// <summary>
/// The benchmark specs: they saturate both cores for minutes and compare figures of one run, so
/// they run after every other collection, alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BenchmarkAlone
{
    public const string Name = "benchmark alone";
}

/// <summary>
/// Base of the <see cref="MachineAlone"/> and <see cref="BenchmarkAlone"/> classes: their
/// processes start at normal priority.
/// </summary>
public abstract class TimingSensitiveSpec
{
    protected TimingSensitiveSpec() => ChildProcesses.RunInForeground();
}
