using System.Diagnostics;

namespace EventCluster.Tests.Support;

/// <summary>
/// Linux network namespaces joined by a bridge, one namespace per node, each with its own
/// address: hosts on one machine that can be cut off from each other. Needs root and
/// <c>ip</c>; <see cref="Unavailable"/> says why it cannot be built here. Disposing it removes
/// every namespace and link it made.
/// </summary>
public sealed class NetworkTopology : IDisposable
{
    /// <summary>Every node listens on this port, on its own address.</summary>
    public const int NodePort = 4053;

    private readonly string _tag = Guid.NewGuid().ToString("N")[..5];
    private readonly int _subnet = Random.Shared.Next(10, 250);

    private NetworkTopology(int nodes)
    {
        Bridge = $"ec{_tag}br";
        for (var i = 1; i <= nodes; i++)
        {
            Namespaces.Add($"ec{_tag}n{i}");
            Hosts.Add($"10.{_subnet}.77.{i}");
        }
    }

    /// <summary>The bridge in the root namespace; the test process reaches the nodes through it.</summary>
    public string Bridge { get; }

    /// <summary>Namespace of node i.</summary>
    public List<string> Namespaces { get; } = [];

    /// <summary>Address of node i.</summary>
    public List<string> Hosts { get; } = [];

    /// <summary>Why the topology cannot be built on this machine, or null when it can.</summary>
    public static string? Unavailable()
    {
        if (!OperatingSystem.IsLinux())
            return "network namespaces need Linux";
        if (Environment.UserName != "root")
            return $"network namespaces need root (running as {Environment.UserName})";
        try
        {
            return Run("ip", "netns", "list").ExitCode == 0 ? null : "`ip netns` does not work here";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "the `ip` command (iproute2) is not installed";
        }
    }

    /// <summary>Builds a bridge and <paramref name="nodes"/> namespaces attached to it.</summary>
    public static NetworkTopology Create(int nodes)
    {
        var topology = new NetworkTopology(nodes);
        try
        {
            topology.Build();
            return topology;
        }
        catch
        {
            topology.Dispose();
            throw;
        }
    }

    /// <summary>Cuts node <paramref name="index"/> off from every other node and from the test process.</summary>
    public void Isolate(int index) => Ip("link", "set", HostSide(index), "down");

    /// <summary>Reconnects node <paramref name="index"/>.</summary>
    public void Reconnect(int index) => Ip("link", "set", HostSide(index), "up");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var ns in Namespaces)
            Run("ip", "netns", "delete", ns);
        for (var i = 0; i < Namespaces.Count; i++)
            Run("ip", "link", "delete", HostSide(i));
        Run("ip", "link", "delete", Bridge);
    }

    private void Build()
    {
        Ip("link", "add", Bridge, "type", "bridge");
        Ip("addr", "add", $"10.{_subnet}.77.254/24", "dev", Bridge);
        Ip("link", "set", Bridge, "up");
        for (var i = 0; i < Namespaces.Count; i++)
        {
            var ns = Namespaces[i];
            var inside = $"ec{_tag}p{i + 1}";
            Ip("netns", "add", ns);
            Ip("link", "add", HostSide(i), "type", "veth", "peer", "name", inside);
            Ip("link", "set", inside, "netns", ns);
            Ip("link", "set", HostSide(i), "master", Bridge);
            Ip("link", "set", HostSide(i), "up");
            Ip("netns", "exec", ns, "ip", "addr", "add", $"{Hosts[i]}/24", "dev", inside);
            Ip("netns", "exec", ns, "ip", "link", "set", inside, "up");
            Ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
        }
    }

    private string HostSide(int index) => $"ec{_tag}v{index + 1}";

    private static void Ip(params string[] arguments)
    {
        var (exitCode, output) = Run("ip", arguments);
        if (exitCode != 0)
            throw new InvalidOperationException($"ip {string.Join(" ", arguments)} failed ({exitCode}): {output}");
    }

    private static (int ExitCode, string Output) Run(string file, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
            startInfo.ArgumentList.Add(argument);
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
