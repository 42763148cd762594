using System.Reflection;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>The checkout the benchmark runs from: builds the node and client and runs the client.</summary>
public sealed class Repository
{
    private Repository(string root) => Root = root;

    public string Root { get; }

    /// <summary>Release, unless the run is told to use the build of the benchmark's own configuration.</summary>
    public string Configuration { get; private set; } = "Release";

    public string NodeDll => Path.Combine(Root, $"src/Node/bin/{Configuration}/net10.0/EventCluster.Node.dll");

    public string ClientDll => Path.Combine(Root, $"src/Cli/bin/{Configuration}/net10.0/eventcluster.dll");

    /// <summary>The checkout around the working directory (or around the benchmark's own binaries).</summary>
    public static Repository Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "EventCluster.sln")))
                    return new Repository(dir.FullName);
            }
        }

        throw new InvalidOperationException("run the benchmark inside an EventCluster checkout (EventCluster.sln not found)");
    }

    /// <summary>Builds the node and the client in Release, as the README's cluster runs them.</summary>
    public async Task BuildAsync()
    {
        foreach (var project in new[] { "src/Node", "src/Cli" })
        {
            var (code, output) = await RunAsync("dotnet", ["build", project, "-c", "Release", "-v", "quiet", "-nologo"], TimeSpan.FromMinutes(10));
            if (code != 0)
                throw new InvalidOperationException($"building {project} failed:\n{output}");
        }
    }

    /// <summary>
    /// Uses the node and client built beside the benchmark (its own configuration) instead of
    /// building them; says what is missing, or null.
    /// </summary>
    public string? UseBuilt()
    {
        Configuration = typeof(Repository).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        return new[] { NodeDll, ClientDll }.Where(dll => !File.Exists(dll))
            .Select(dll => $"{dll} is missing: build the solution ({Configuration}) first, or leave out --no-build")
            .FirstOrDefault();
    }

    /// <summary>The current commit, with "+changes" when the work tree differs from it.</summary>
    public async Task<string> CommitAsync()
    {
        var (code, head) = await RunAsync("git", ["rev-parse", "HEAD"], TimeSpan.FromSeconds(30));
        if (code != 0)
            return "unknown";
        var (_, status) = await RunAsync("git", ["status", "--porcelain", "--untracked-files=no"], TimeSpan.FromSeconds(30));
        return head.Trim() + (status.Trim().Length > 0 ? "+changes" : "");
    }

    /// <summary>Runs the eventcluster client with <paramref name="args"/> and --json; its JSON summary.</summary>
    public async Task<JsonNode> ClientJsonAsync(string seeds, TimeSpan timeout, params string[] args)
    {
        var (code, output) = await RunAsync("dotnet", [ClientDll, .. args, "--seeds", seeds, "--json"], timeout, stdoutOnly: true);
        var start = output.IndexOf('{');
        if (start < 0)
            throw new InvalidOperationException($"eventcluster {string.Join(' ', args)} exited {code} without a JSON summary:\n{output}");
        var json = JsonNode.Parse(output[start..]) ?? throw new InvalidOperationException("empty JSON summary");
        if (code != 0)
            throw new InvalidOperationException($"eventcluster {string.Join(' ', args)} exited {code}: {json.ToJsonString()}");
        return json;
    }

    /// <summary>Removes EVENTCLUSTER_* settings of the caller's shell: the benchmark sets what its processes use.</summary>
    public static void ScrubEnvironment(ProcessStartInfo start)
    {
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("EVENTCLUSTER_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(key);
    }

    private async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, bool stdoutOnly = false)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Root,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        ScrubEnvironment(start);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:0}s");
        }

        return (process.ExitCode, stdoutOnly ? await stdout : await stdout + await stderr);
    }
}
