namespace EventCluster.Tests.Support;

/// <summary>
/// A PostgreSQL server of a spec's own (a new cluster in a temporary directory, loopback only, on
/// a free port) that the spec may stop and start again, unlike the shared test server.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("eventcluster-pg");
    private readonly string _bin;

    private PostgresServer(string bin)
    {
        _bin = bin;
        Port = FreePorts.Next();
    }

    /// <summary>The server's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>A connection string to its postgres database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres";

    private string DataPath => Path.Combine(_directory.Path, "data");

    /// <summary>Why no server can be started here, or null.</summary>
    public static string? Unavailable() =>
        FindBin() is null ? "PostgreSQL's server binaries are not installed (.ci/run installs Debian's postgresql)" : null;

    /// <summary>Creates the cluster and starts the server.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var server = new PostgresServer(FindBin()!);
        try
        {
            if (Environment.UserName == "root")
                await ChildProcesses.RunToEndAsync("chown", "postgres", server._directory.Path);
            await server.PgAsync("initdb", "-D", server.DataPath, "-U", "postgres", "-A", "trust");
            await server.StartAgainAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server at once (fast shutdown: open sessions are cut).</summary>
    public Task StopAsync() => PgAsync("pg_ctl", "-D", DataPath, "-m", "fast", "-w", "stop");

    /// <summary>Starts the stopped server again and waits until it takes connections.</summary>
    public Task StartAgainAsync() => PgAsync("pg_ctl", "-D", DataPath, "-l", Path.Combine(_directory.Path, "server.log"), "-w", "-o",
        $"-c listen_addresses=127.0.0.1 -p {Port} -k {_directory.Path}", "start");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Directory.Exists(DataPath))
                await PgAsync("pg_ctl", "-D", DataPath, "-m", "immediate", "-w", "stop");
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        _directory.Dispose();
    }

    private static string? FindBin() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(dir => Path.Combine(dir, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderBy(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .LastOrDefault()
            : null;

    private Task PgAsync(string tool, params string[] arguments) =>
        Environment.UserName == "root"
            ? ChildProcesses.RunToEndAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, tool), .. arguments])
            : ChildProcesses.RunToEndAsync(Path.Combine(_bin, tool), arguments);
}
