using System.Diagnostics;
using System.Text.RegularExpressions;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The dashboard in a real browser (headless Chromium, Debian's <c>chromium</c> package, which
/// .ci/run installs): it shows all members of a 3-node cluster, and a killed node turns
/// unreachable or disappears.
/// </summary>
public sealed partial class DashboardBrowserSpecs(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Should_show_every_member_and_mark_a_killed_node()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Prerequisites.SkipIfMissing(chromium is null ? "no Chromium (install Debian's chromium package; .ci/run does)" : null, output);

        await using var cluster = await LocalCluster.StartAsync(3);
        using var profile = new TempDirectory("eventcluster-chromium");
        var url = $"http://127.0.0.1:{cluster.Nodes[0].HttpPort}/";
        var victim = cluster.Nodes[2];

        await Poll.UntilAsync(async () =>
        {
            var rows = MemberRows(await RenderAsync(chromium!, profile.Path, url));
            return cluster.Nodes.All(node => rows.GetValueOrDefault(node.Endpoint) == "Up");
        }, TimeSpan.FromSeconds(60), "the dashboard to show all three members Up", TimeSpan.FromSeconds(1));

        victim.Kill();
        await Poll.UntilAsync(async () =>
        {
            var rows = MemberRows(await RenderAsync(chromium!, profile.Path, url));
            return rows.GetValueOrDefault(victim.Endpoint) is null or "unreachable" or "Down" or "Removed"
                && rows.GetValueOrDefault(cluster.Nodes[0].Endpoint) == "Up";
        }, TimeSpan.FromSeconds(60), "the dashboard to mark the killed node", TimeSpan.FromSeconds(1));
    }

    /// <summary>The page's DOM after its scripts ran for a few (virtual) seconds.</summary>
    private static async Task<string> RenderAsync(string chromium, string profile, string url)
    {
        var startInfo = new ProcessStartInfo(chromium)
        {
            ArgumentList =
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                $"--user-data-dir={profile}",
                "--virtual-time-budget=3000", "--dump-dom", url,
            },
        };
        var process = ChildProcesses.Start(startInfo);
        var dom = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        finally
        {
            ChildProcesses.Kill(process);
        }

        return await dom;
    }

    /// <summary>The members table: address → status (or "unreachable").</summary>
    private static Dictionary<string, string> MemberRows(string dom) =>
        MemberRow().Matches(dom).ToDictionary(m => m.Groups["address"].Value, m => m.Groups["status"].Value);

    [GeneratedRegex("""<tr data-address="(?<address>[^"]+)" data-status="(?<status>[^"]+)">""")]
    private static partial Regex MemberRow();
}
