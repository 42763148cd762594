using System.Diagnostics;
using System.Text.Json.Nodes;

namespace EventCluster.Tests.Support;

/// <summary>One run of the real eventcluster client.</summary>
public sealed record ClientRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Standard output parsed as the one JSON document --json promises.</summary>
    public JsonNode Json => JsonNode.Parse(Stdout) ?? throw new InvalidOperationException("empty output");

    /// <summary>Runs the client with <paramref name="arguments"/>, killing it after <paramref name="timeout"/>.</summary>
    public static Task<ClientRun> RunAsync(IEnumerable<string> arguments, TimeSpan? timeout = null) =>
        RunProgramAsync(BuiltArtifacts.ClientDll, arguments, timeout);

    /// <summary>Runs the client with <paramref name="input"/> on its standard input, which is then closed.</summary>
    public static Task<ClientRun> RunWithInputAsync(string input, params string[] arguments) =>
        RunProgramAsync(BuiltArtifacts.ClientDll, arguments, input: input);

    /// <summary>
    /// Runs another built .NET program (a sample) the same way, with extra environment variables;
    /// with no <paramref name="runner"/>, <paramref name="dll"/> is an executable run directly.
    /// </summary>
    public static async Task<ClientRun> RunProgramAsync(string dll, IEnumerable<string> arguments, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null, string? runner = "dotnet", string? input = null)
    {
        var startInfo = new ProcessStartInfo(runner ?? dll) { WorkingDirectory = Path.GetTempPath() };
        if (runner is not null)
            startInfo.ArgumentList.Add(dll);
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        var process = ChildProcesses.Start(startInfo, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            ChildProcesses.Kill(process);
            throw new TimeoutException($"{Path.GetFileName(dll)} {string.Join(" ", arguments)} did not finish; stderr:\n{await stderr}");
        }

        ChildProcesses.Forget(process);
        return new ClientRun(process.ExitCode, await stdout, await stderr);
    }

    /// <inheritdoc />
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}
