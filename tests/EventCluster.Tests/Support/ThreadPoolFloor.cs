using System.Runtime.CompilerServices;

namespace EventCluster.Tests.Support;

/// <summary>
/// Spec classes run in parallel in this one process, and many of them block a thread on a child
/// process or on TestKit's synchronous expectations. The thread pool adds threads slowly (about
/// one a second) once its minimum is taken, so an actor system of another spec could wait tens of
/// seconds for a thread to run a reply on: a journal replay once delivered nothing in 30 s. A
/// higher minimum lets the pool hand out threads at once.
/// </summary>
internal static class ThreadPoolFloor
{
    private const int MinimumThreads = 64;

    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        ThreadPool.SetMinThreads(Math.Max(workers, MinimumThreads), Math.Max(completionPorts, MinimumThreads));
    }
}
