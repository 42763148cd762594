using System.Diagnostics;
using System.Text.Json;

namespace EventCluster.Tests.Support;

/// <summary>
/// A running <c>eventcluster subscribe --json</c>: its output lines are collected as they come,
/// parsed as events. Disposing it kills the process if it still runs.
/// </summary>
public sealed class SubscriberProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SubscriberProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                _outputClosed.TrySetResult();
            else
                lock (_stdout)
                    _stdout.Add(e.Data);
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (_stderr)
                    _stderr.Add(e.Data);
        };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Starts the client with <c>subscribe</c>, <c>--json</c> and <paramref name="arguments"/>.</summary>
    public static SubscriberProcess Start(string seeds, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetTempPath() };
        foreach (var argument in new[] { BuiltArtifacts.ClientDll, "subscribe", "--json", "--seeds", seeds }.Concat(arguments))
            startInfo.ArgumentList.Add(argument);
        return new SubscriberProcess(ChildProcesses.Start(startInfo));
    }

    /// <summary>The events printed so far, in order.</summary>
    public IReadOnlyList<JsonElement> Events
    {
        get
        {
            lock (_stdout)
                return _stdout.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        }
    }

    /// <summary>Standard error so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
                return string.Join("\n", _stderr);
        }
    }

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Lines printed on standard output so far.</summary>
    public int Count
    {
        get
        {
            lock (_stdout)
                return _stdout.Count;
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> events were printed.</summary>
    public Task WaitForEventsAsync(int count, TimeSpan timeout) =>
        Poll.UntilAsync(() => Count >= count || HasExited, timeout, $"{count} events from the subscriber (stderr: {Stderr})");

    /// <summary>Waits until standard error holds <paramref name="text"/>.</summary>
    public Task WaitForStderrAsync(string text, TimeSpan timeout) =>
        Poll.UntilAsync(() => Stderr.Contains(text, StringComparison.Ordinal), timeout, $"'{text}' on the subscriber's stderr (so far: {Stderr})");

    /// <summary>Ctrl-C.</summary>
    public void Interrupt() => ChildProcesses.Interrupt(_process);

    /// <summary>kill -9.</summary>
    public void Kill() => ChildProcesses.Kill(_process);

    /// <summary>Waits for the process to exit by itself and for its last lines; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await _outputClosed.Task.WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the subscriber did not exit within {timeout.TotalSeconds:0}s; stderr:\n{Stderr}");
        }

        ChildProcesses.Forget(_process);
        return _process.ExitCode;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        ChildProcesses.Kill(_process);
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
