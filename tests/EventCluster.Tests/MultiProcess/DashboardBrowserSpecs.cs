using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EventCluster.Tests.Support;
using Xunit.Abstractions;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The dashboard in a real browser (headless Chromium, Debian's <c>chromium</c> package, which
/// .ci/run installs), driven over the DevTools protocol: it shows all members of a 3-node
/// cluster and marks a killed node; its live panel shows events sent after the page opened, and
/// its groups table lists every group.
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
        await using var page = await BrowserPage.OpenAsync(chromium!, profile.Path, $"http://127.0.0.1:{cluster.Nodes[0].HttpPort}/");
        var victim = cluster.Nodes[2];

        await Poll.UntilAsync(async () =>
        {
            var rows = MemberRows(await page.EvaluateAsync("document.getElementById('members').innerHTML"));
            return cluster.Nodes.All(node => rows.GetValueOrDefault(node.Endpoint) == "Up");
        }, TimeSpan.FromSeconds(60), "the dashboard to show all three members Up", TimeSpan.FromSeconds(1));

        victim.Kill();
        await Poll.UntilAsync(async () =>
        {
            var rows = MemberRows(await page.EvaluateAsync("document.getElementById('members').innerHTML"));
            return rows.GetValueOrDefault(victim.Endpoint) is null or "unreachable" or "Down" or "Removed"
                && rows.GetValueOrDefault(cluster.Nodes[0].Endpoint) == "Up";
        }, TimeSpan.FromSeconds(60), "the dashboard to mark the killed node", TimeSpan.FromSeconds(1));
    }

    [SkippableFact]
    public async Task Should_show_events_sent_after_the_page_opened_and_every_group()
    {
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Prerequisites.SkipIfMissing(chromium is null ? "no Chromium (install Debian's chromium package; .ci/run does)" : null, output);

        await using var cluster = await LocalCluster.StartAsync(1);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Nodes[0].HttpPort}") };
        await PostAsync(http, "before-open");
        var grouped = await cluster.ClientAsync("subscribe", "--group", "dashboard-readers", "--max", "1");
        Assert.True(grouped.ExitCode == 0, grouped.ToString());
        using var profile = new TempDirectory("eventcluster-chromium");
        await using var page = await BrowserPage.OpenAsync(chromium!, profile.Path, http.BaseAddress!.ToString());
        // The panel says "live" once its stream has caught up: the page is open and following.
        await Poll.UntilAsync(async () => await page.EvaluateAsync("document.getElementById('liveState').textContent") == "live",
            TimeSpan.FromSeconds(30), "the live panel to follow the stream", TimeSpan.FromMilliseconds(250));

        var sent = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var entity = $"after-open-{i}";
            await PostAsync(http, entity);
            sent.Add(entity);
        }

        string[] shown = [];
        await Poll.UntilAsync(async () =>
        {
            shown = (await page.EvaluateAsync("[...document.querySelectorAll('#live .live-event')].map(r => r.dataset.entity).join(',')"))
                .Split(',', StringSplitOptions.RemoveEmptyEntries);
            return sent.All(shown.Contains);
        }, TimeSpan.FromSeconds(30), "the events sent after the page opened in the live panel", TimeSpan.FromMilliseconds(250));
        Assert.DoesNotContain("before-open", shown);

        // The filter box keeps only matching rows.
        await page.EvaluateAsync("(() => { const f = document.getElementById('liveFilter'); f.value = 'after-open-1'; f.dispatchEvent(new Event('input')); return ''; })()");
        Assert.Equal("after-open-1", await page.EvaluateAsync("[...document.querySelectorAll('#live .live-event')].map(r => r.dataset.entity).join(',')"));

        await Poll.UntilAsync(async () => (await page.EvaluateAsync("document.getElementById('groups').textContent")).Contains("dashboard-readers"),
            TimeSpan.FromSeconds(30), "the groups table to list the group", TimeSpan.FromMilliseconds(250));
    }

    private static async Task PostAsync(HttpClient http, string entity)
    {
        var response = await http.PostAsync("/api/events", new StringContent($$"""{"entityId":"{{entity}}","type":"seen"}""", Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// A page open in headless Chromium, driven over the DevTools protocol: it runs in real time,
    /// so a page that keeps a stream open can be read while events arrive.
    /// </summary>
    private sealed partial class BrowserPage : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly int _port;
        private int _nextId;

        private BrowserPage(Process process, int port)
        {
            _process = process;
            _port = port;
        }

        public static async Task<BrowserPage> OpenAsync(string chromium, string profile, string url)
        {
            var startInfo = new ProcessStartInfo(chromium)
            {
                ArgumentList =
                {
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    $"--user-data-dir={profile}", "--remote-debugging-port=0", url,
                },
            };
            var process = ChildProcesses.Start(startInfo);
            _ = process.StandardOutput.ReadToEndAsync();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                while (await process.StandardError.ReadLineAsync(deadline.Token) is { } line)
                {
                    var match = DevToolsLine().Match(line);
                    if (match.Success)
                    {
                        _ = process.StandardError.ReadToEndAsync();
                        return new BrowserPage(process, int.Parse(match.Groups[1].Value));
                    }
                }
            }
            catch
            {
                ChildProcesses.Kill(process);
                throw;
            }

            ChildProcesses.Kill(process);
            throw new InvalidOperationException("Chromium exited without opening its DevTools port");
        }

        /// <summary>Evaluates a JavaScript expression in the page; its value as a string.</summary>
        public async Task<string> EvaluateAsync(string expression)
        {
            using var http = new HttpClient();
            var targets = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{_port}/json/list")).RootElement;
            var target = targets.EnumerateArray().First(t => t.GetProperty("type").GetString() == "page");
            using var socket = new ClientWebSocket();
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await socket.ConnectAsync(new Uri(target.GetProperty("webSocketDebuggerUrl").GetString()!), deadline.Token);
            var id = Interlocked.Increment(ref _nextId);
            var command = JsonSerializer.Serialize(new { id, method = "Runtime.evaluate", @params = new { expression, returnByValue = true } });
            await socket.SendAsync(Encoding.UTF8.GetBytes(command), WebSocketMessageType.Text, true, deadline.Token);
            var buffer = new byte[1 << 20];
            while (true)
            {
                var message = new MemoryStream();
                WebSocketReceiveResult received;
                do
                {
                    received = await socket.ReceiveAsync(buffer, deadline.Token);
                    message.Write(buffer, 0, received.Count);
                } while (!received.EndOfMessage);

                var reply = JsonDocument.Parse(message.ToArray()).RootElement;
                if (reply.TryGetProperty("id", out var replyId) && replyId.GetInt32() == id)
                {
                    var value = reply.GetProperty("result").GetProperty("result");
                    return value.TryGetProperty("value", out var v) ? v.ToString() : "";
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            ChildProcesses.Kill(_process);
            _process.Dispose();
            return ValueTask.CompletedTask;
        }

        [GeneratedRegex(@"DevTools listening on ws://127\.0\.0\.1:(\d+)/")]
        private static partial Regex DevToolsLine();
    }

    /// <summary>The members table: address → status (or "unreachable").</summary>
    private static Dictionary<string, string> MemberRows(string dom) =>
        MemberRow().Matches(dom).ToDictionary(m => m.Groups["address"].Value, m => m.Groups["status"].Value);

    [GeneratedRegex("""<tr data-address="(?<address>[^"]+)" data-status="(?<status>[^"]+)">""")]
    private static partial Regex MemberRow();
}
