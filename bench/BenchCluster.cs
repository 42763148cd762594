using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace EventCluster.Bench;

/// <summary>
/// A local cluster of three node processes started from the built node, on free ports and a
/// journal of the benchmark's own. Every process it starts is killed when it is disposed.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    public const int Nodes = 3;

    private readonly Repository _repository;
    private readonly string _journal;
    private readonly string _workDir;
    private readonly Process?[] _processes = new Process?[Nodes];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private readonly IReadOnlyList<string> _nodeArguments;

    private BenchCluster(Repository repository, string journal, string workDir, int basePort, IReadOnlyList<string> nodeArguments)
    {
        _nodeArguments = nodeArguments;
        _repository = repository;
        _journal = journal;
        _workDir = workDir;
        Ports = Enumerable.Range(basePort, Nodes).ToArray();
    }

    /// <summary>Akka.Remote ports of the nodes; the first two are the seeds.</summary>
    public int[] Ports { get; }

    public string Seeds => $"127.0.0.1:{Ports[0]},127.0.0.1:{Ports[1]}";

    public static int HttpPortOf(int port) => port + 1000;

    /// <summary>The runtime's setting of the young-generation budget, which only the environment can give.</summary>
    public const string GcYoungBudgetVariable = "DOTNET_GCgen0size";

    /// <summary>The recommended young-generation budget: 16 MiB, in the hexadecimal the runtime reads.</summary>
    public const string GcYoungBudget = "0x1000000";

    public static string AddressOf(int port) => $"akka.tcp://eventcluster@127.0.0.1:{port}";

    /// <summary>The process id of node <paramref name="index"/>, or null when it is not running.</summary>
    public int? ProcessId(int index) => _processes[index] is { HasExited: false } process ? process.Id : null;

    /// <summary>Starts the nodes (with <paramref name="nodeArguments"/> besides their own) and waits until all are Up and every shard has a home.</summary>
    public static async Task<BenchCluster> StartAsync(Repository repository, string journal, string workDir, IReadOnlyList<string>? nodeArguments = null)
    {
        var cluster = new BenchCluster(repository, journal, workDir, FindFreePorts(), nodeArguments ?? []);
        try
        {
            for (var i = 0; i < Nodes; i++)
                cluster.StartNode(i);
            await cluster.WaitUntilSettledAsync(TimeSpan.FromSeconds(120));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The file node <paramref name="index"/>'s standard output and error go to (appended to across restarts).</summary>
    public string LogPath(int index) => Path.Combine(_workDir, $"node-{Ports[index]}.log");

    public void StartNode(int index)
    {
        var port = Ports[index];
        var log = LogPath(index);
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workDir,
        };
        foreach (var arg in new[]
                 {
                     _repository.NodeDll, "--port", port.ToString(), "--http-port", HttpPortOf(port).ToString(), "--seeds", Seeds,
                     "--journal", _journal, "--data-dir", Path.Combine(_workDir, $"node-{port}"),
                     // The webhook run's receiver is on this machine, which nodes refuse by default.
                     "--webhook-allowed-hosts", "127.0.0.1",
                 }.Concat(_nodeArguments))
            start.ArgumentList.Add(arg);
        Repository.ScrubEnvironment(start);
        // The nodes run as the README recommends deploying them: with a 16 MiB young-generation
        // budget (see "Garbage collection" there). A DOTNET_GCgen0size of the caller's wins, so
        // DOTNET_GCgen0size=0 runs them on the runtime's default for comparison.
        start.Environment.TryAdd(GcYoungBudgetVariable, GcYoungBudget);
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a node process");
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (writer) writer.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes[index] = process;
    }

    /// <summary>kill -9 of node <paramref name="index"/>; returns when the process is gone.</summary>
    public void Kill(int index)
    {
        var process = _processes[index] ?? throw new InvalidOperationException($"node {index} is not running");
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        _processes[index] = null;
    }

    /// <summary>Waits until every node is Up, reachable and hosting shards, and all 100 shards are placed.</summary>
    public async Task WaitUntilSettledAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        string last = "no answer yet";
        while (deadline.Elapsed < timeout)
        {
            foreach (var index in Enumerable.Range(0, Nodes))
            {
                if (_processes[index] is { HasExited: true } exited)
                    throw new InvalidOperationException($"node on port {Ports[index]} exited with code {exited.ExitCode}; see {_workDir}");
            }

            if (await ClusterAsync(0) is { } status)
            {
                var up = status["members"]!.AsArray().Count(m => (string?)m!["status"] == "Up" && (bool?)m["reachable"] == true);
                var nodes = status["nodes"]!.AsArray();
                var shards = nodes.Sum(n => (int?)n!["shardCount"] ?? 0);
                var hosting = nodes.Count(n => ((int?)n!["shardCount"] ?? 0) > 0);
                last = $"{up} members Up, {shards} shards on {hosting} nodes";
                if (up == Nodes && shards == 100 && hosting == Nodes)
                    return;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"cluster did not settle within {timeout.TotalSeconds:0}s ({last}); logs in {_workDir}");
    }

    /// <summary>The cluster status as node <paramref name="index"/> sees it, or null when it does not answer.</summary>
    public async Task<JsonNode?> ClusterAsync(int index)
    {
        try
        {
            return JsonNode.Parse(await _http.GetStringAsync($"http://127.0.0.1:{HttpPortOf(Ports[index])}/api/cluster"));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>Resident memory of node <paramref name="index"/> in MiB (Linux), or null when unknown.</summary>
    public long? ResidentMb(int index)
    {
        if (ProcessId(index) is not { } pid)
            return null;
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes.Where(p => p is not null))
        {
            try
            {
                if (!process!.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                // Already gone.
            }

            process!.Dispose();
        }

        _http.Dispose();
    }

    private static int FindFreePorts()
    {
        for (var basePort = 4253; basePort < 4900; basePort += Nodes)
        {
            if (Enumerable.Range(basePort, Nodes).All(port => IsFree(port) && IsFree(HttpPortOf(port))))
                return basePort;
        }

        throw new InvalidOperationException("no free block of ports between 4253 and 4900");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
