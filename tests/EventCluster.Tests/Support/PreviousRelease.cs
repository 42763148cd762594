namespace EventCluster.Tests.Support;

/// <summary>The node of an earlier release, built from this repository's history; or why it cannot be.</summary>
/// <param name="Commit">The full commit id the node was built from (the id asked for when it is missing).</param>
/// <param name="NodeDll">The built node; null when it could not be built.</param>
/// <param name="Missing">What is missing to build it (null when built).</param>
/// <param name="BuildTime">How long this run spent building it (zero when a cached build was reused).</param>
public sealed record ReleaseBuild(string Commit, string? NodeDll, string? Missing, TimeSpan BuildTime);

/// <summary>
/// The previous release of the node, for the rolling-upgrade spec: the commit is taken out of the
/// git repository these specs run in (<c>git archive</c>) and built with <c>dotnet build</c> in a
/// scratch folder under the temp directory, keyed by the commit, so later runs reuse it. The build
/// starts on first use and is shared by every spec of the run.
/// </summary>
public static class PreviousRelease
{
    /// <summary>
    /// The last commit of the release before the current one ("README: building an event and
    /// sending it in two steps with the client library", 2026-12-03). Move it forward when a
    /// release is cut: the spec then guards the formats of the release after it.
    /// </summary>
    public const string Commit = "eb6ea2a";

    private static readonly Lazy<Task<ReleaseBuild>> Build = new(() => Task.Run(() => BuildAsync(Commit)));

    /// <summary>Starts the build (once per run) and returns it.</summary>
    public static Task<ReleaseBuild> NodeAsync() => Build.Value;

    private static async Task<ReleaseBuild> BuildAsync(string commit)
    {
        var root = BuiltArtifacts.RepositoryRoot;
        var resolved = await RunAsync("git", ["-C", root, "rev-parse", "--verify", "--quiet", $"{commit}^{{commit}}"], TimeSpan.FromSeconds(30));
        // 127: env found no git to run.
        if (resolved.ExitCode == 127)
            return new ReleaseBuild(commit, null, "git, to take the previous release out of the repository's history", TimeSpan.Zero);
        if (resolved.ExitCode != 0)
            return new ReleaseBuild(commit, null,
                $"commit {commit} (the previous release) in the git repository at {root}: a shallow clone lacks it; " +
                "fetch the full history (git fetch --unshallow, or fetch-depth: 0 in CI)", TimeSpan.Zero);

        var fullCommit = resolved.Stdout.Trim();
        var cache = Path.Combine(Path.GetTempPath(), "eventcluster-releases", fullCommit);
        var nodeDll = Path.Combine(cache, "src", "Node", "bin", "Release", "net10.0", "EventCluster.Node.dll");
        if (File.Exists(nodeDll))
            return new ReleaseBuild(fullCommit, nodeDll, null, TimeSpan.Zero);

        // Built beside the cache and moved in whole, so that a run stopped half-way, or two runs
        // at once, never leave a half-built release where the next run looks.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var staging = $"{cache}.building-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging);
        try
        {
            var tar = Path.Combine(staging, "source.tar");
            await RunCheckedAsync("git", ["-C", root, "archive", "--format=tar", "-o", tar, fullCommit], TimeSpan.FromMinutes(1));
            await RunCheckedAsync("tar", ["-xf", tar, "-C", staging], TimeSpan.FromMinutes(1));
            File.Delete(tar);
            // No build servers: nothing of the build outlives it in the background.
            await RunCheckedAsync("dotnet", ["build", Path.Combine(staging, "src", "Node", "EventCluster.Node.csproj"), "-c", "Release",
                "-nologo", "-v", "q", "--disable-build-servers"], TimeSpan.FromMinutes(10));
            try
            {
                Directory.Move(staging, cache);
            }
            catch (IOException) when (File.Exists(nodeDll))
            {
                // Another run finished the same build first; its copy serves.
            }

            return new ReleaseBuild(fullCommit, nodeDll, null, clock.Elapsed);
        }
        finally
        {
            if (Directory.Exists(staging))
                Directory.Delete(staging, recursive: true);
        }
    }

    private static async Task RunCheckedAsync(string program, string[] arguments, TimeSpan timeout)
    {
        var run = await RunAsync(program, arguments, timeout);
        if (run.ExitCode != 0)
            throw new InvalidOperationException($"building the previous release: {program} {string.Join(" ", arguments)} failed\n{run}");
    }

    private static Task<ClientRun> RunAsync(string program, string[] arguments, TimeSpan timeout) =>
        ClientRun.RunProgramAsync(program, arguments, timeout, runner: null);
}
