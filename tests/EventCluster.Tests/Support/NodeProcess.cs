using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EventCluster.Tests.Support;

/// <summary>A real node process started from the built node, with its log lines collected.</summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];

    private NodeProcess(Process process, int port, int httpPort, string host)
    {
        _process = process;
        Port = port;
        HttpPort = httpPort;
        Host = host;
        _process.OutputDataReceived += (_, e) => Collect(e.Data);
        _process.ErrorDataReceived += (_, e) => Collect(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Akka.Remote port.</summary>
    public int Port { get; }

    /// <summary>HTTP port (0 when disabled).</summary>
    public int HttpPort { get; }

    /// <summary>The node's public host name.</summary>
    public string Host { get; }

    /// <summary>host:port of the node, as the client and seeds name it.</summary>
    public string Endpoint => $"{Host}:{Port}";

    /// <summary>The node's Akka address.</summary>
    public string Address => $"akka.tcp://eventcluster@{Endpoint}";

    /// <summary>Process id.</summary>
    public int Pid => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Exit code of the exited process.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Every line logged so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
                return _lines.ToList();
        }
    }

    /// <summary>
    /// Starts a node with exactly these arguments (nothing from the environment but the
    /// <paramref name="environment"/> variables given); inside the network namespace
    /// <paramref name="netns"/> when given; from <paramref name="nodeDll"/> (another release's
    /// node) instead of the built one when given.
    /// </summary>
    public static NodeProcess Start(IEnumerable<string> arguments, int port = 0, int httpPort = 0, string host = "127.0.0.1",
        string? netns = null, IReadOnlyDictionary<string, string>? environment = null, string? nodeDll = null)
    {
        var startInfo = new ProcessStartInfo(netns is null ? "dotnet" : "ip") { WorkingDirectory = Path.GetTempPath() };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            startInfo.Environment[name] = value;
        if (netns is not null)
        {
            // ip netns exec replaces itself with the command: the process started is the node.
            foreach (var part in new[] { "netns", "exec", netns, "dotnet" })
                startInfo.ArgumentList.Add(part);
        }

        startInfo.ArgumentList.Add(nodeDll ?? BuiltArtifacts.NodeDll);
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        return new NodeProcess(ChildProcesses.Start(startInfo, environment), port, httpPort, host);
    }

    /// <summary>Starts a cluster node on the given ports, seeds and journal.</summary>
    public static NodeProcess StartNode(int port, int httpPort, IEnumerable<string> seeds, string journal, string dataDir,
        string host = "127.0.0.1", string? netns = null, IEnumerable<string>? extraArguments = null,
        IReadOnlyDictionary<string, string>? environment = null, string? nodeDll = null) =>
        Start(["--host", host, "--port", port.ToString(), "--http-port", httpPort.ToString(), "--seeds", string.Join(",", seeds),
            "--journal", journal, "--data-dir", dataDir, .. extraArguments ?? []], port, httpPort, host, netns, environment, nodeDll);

    /// <summary>Lines matching <paramref name="pattern"/>.</summary>
    public IReadOnlyList<string> LinesMatching(string pattern) => Lines.Where(line => Regex.IsMatch(line, pattern)).ToList();

    /// <summary>Waits until the process exits; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"node {Endpoint} did not exit within {timeout.TotalSeconds:0}s; last lines:\n{Tail()}");
        }

        // The parameterless wait returns once the output readers have drained the last lines.
        _process.WaitForExit();
        ChildProcesses.Forget(_process);
        return _process.ExitCode;
    }

    /// <summary>kill -9.</summary>
    public void Kill() => ChildProcesses.Kill(_process);

    /// <summary>Pauses the node (SIGSTOP).</summary>
    public void Pause() => ChildProcesses.Pause(_process);

    /// <summary>Resumes a paused node (SIGCONT).</summary>
    public void Resume() => ChildProcesses.Resume(_process);

    /// <summary>SIGTERM: leave the cluster gracefully.</summary>
    public void Terminate() => ChildProcesses.Terminate(_process);

    /// <summary>The last lines of the log, for failure messages.</summary>
    public string Tail(int count = 30) => string.Join("\n", Lines.TakeLast(count));

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        ChildProcesses.Kill(_process);
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Collect(string? line)
    {
        if (line is null)
            return;
        lock (_lines)
            _lines.Add(line);
    }
}
