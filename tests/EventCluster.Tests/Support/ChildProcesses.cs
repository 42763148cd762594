using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EventCluster.Tests.Support;

/// <summary>
/// Every process the specs start, so that none outlives the test run: each spec kills what it
/// started, and anything left is killed when the test process exits.
/// </summary>
public static partial class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    // Set for the specs of the TimingSensitive and MachineAlone collections: their processes run at normal priority,
    // every other spec's at a lower one (see TimingSensitiveSpec).
    private static readonly AsyncLocal<bool> InForeground = new();

    /// <summary>How much lower the processes of specs that tolerate busy cores run (nice(1)).</summary>
    public const int BackgroundNiceness = 10;

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    /// <summary>
    /// From here on in the calling spec's flow, processes start at normal priority: for the specs
    /// whose timing assertions need the cores first (<see cref="TimingSensitiveSpec"/>).
    /// </summary>
    public static void RunInForeground() => InForeground.Value = true;

    /// <summary>
    /// Starts a process with redirected output and tracks it. EVENTCLUSTER_* variables of the test
    /// run are not passed on: each node and client gets exactly the arguments, and the
    /// <paramref name="environment"/> variables, its spec gives.
    /// <para>
    /// The program starts through env(1) and, outside the foreground specs, nice(1); each
    /// replaces itself with the next, so the process id is the program's. env restores SIGINT's
    /// default action: a test run started in the background of a shell inherits SIGINT ignored,
    /// which the .NET runtime keeps, and a client would never see the Ctrl-C a spec sends it.
    /// </para>
    /// </summary>
    public static Process Start(ProcessStartInfo startInfo, IReadOnlyDictionary<string, string>? environment = null)
    {
        string[] wrappers = InForeground.Value
            ? ["--default-signal=INT"]
            : ["--default-signal=INT", "nice", "-n", BackgroundNiceness.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        startInfo.ArgumentList.Insert(0, startInfo.FileName);
        for (var i = wrappers.Length - 1; i >= 0; i--)
            startInfo.ArgumentList.Insert(0, wrappers[i]);
        startInfo.FileName = "env";

        foreach (var variable in startInfo.Environment.Keys.Where(k => k.StartsWith("EVENTCLUSTER_", StringComparison.Ordinal)).ToList())
            startInfo.Environment.Remove(variable);
        foreach (var (variable, value) in environment ?? new Dictionary<string, string>())
            startInfo.Environment[variable] = value;
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.RedirectStandardInput = true;
        var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"could not start {startInfo.FileName}");
        Running[process.Id] = process;
        return process;
    }

    /// <summary>Kills the process (SIGKILL) if it still runs and forgets it.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // It already exited, or cannot be signalled any more; nothing is left to clean up.
        }

        Running.TryRemove(process.Id, out _);
    }

    /// <summary>Sends SIGTERM, the signal a graceful leave answers to.</summary>
    public static void Terminate(Process process)
    {
        if (!process.HasExited && SendSignal(process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill -TERM {process.Id} failed");
    }

    /// <summary>Sends SIGINT, what Ctrl-C sends.</summary>
    public static void Interrupt(Process process)
    {
        if (!process.HasExited && SendSignal(process.Id, SigInt) != 0)
            throw new InvalidOperationException($"kill -INT {process.Id} failed");
    }

    /// <summary>Pauses the process (SIGSTOP), as a long garbage-collection pause or a frozen VM would.</summary>
    public static void Pause(Process process)
    {
        if (SendSignal(process.Id, SigStop) != 0)
            throw new InvalidOperationException($"kill -STOP {process.Id} failed");
    }

    /// <summary>Resumes a paused process (SIGCONT).</summary>
    public static void Resume(Process process)
    {
        if (!process.HasExited && SendSignal(process.Id, SigCont) != 0)
            throw new InvalidOperationException($"kill -CONT {process.Id} failed");
    }

    /// <summary>
    /// Runs a short-lived tool to its end (at most a minute) and throws, with its output, when it
    /// fails.
    /// </summary>
    public static async Task RunToEndAsync(string file, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(file) { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        var process = Start(startInfo);
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{file} {string.Join(" ", arguments)} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
        finally
        {
            Kill(process);
            process.Dispose();
        }
    }

    /// <summary>Forgets a process that has exited by itself.</summary>
    public static void Forget(Process process) => Running.TryRemove(process.Id, out _);

    private static void KillAll()
    {
        foreach (var process in Running.Values)
            Kill(process);
    }

    private const int SigInt = 2;
    private const int SigTerm = 15;
    private const int SigStop = 19;
    private const int SigCont = 18;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);
}
