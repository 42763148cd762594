using System.Text.Json.Nodes;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>Three real node processes and the real client, as a user runs them.</summary>
public sealed class MultiProcessClusterSpecs(ThreeNodeClusterFixture fixture) : IClassFixture<ThreeNodeClusterFixture>
{
    private LocalCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Should_apply_every_acknowledged_event_exactly_once_under_load()
    {
        var acked = Path.Combine(Cluster.ScratchPath, "load.acked.jsonl");

        var load = await Cluster.ClientAsync("load", "--events", "2000", "--entities", "100", "--acked", acked, "--json");
        var verify = await Cluster.ClientAsync("verify", "--acked", acked, "--json");

        Assert.True(load.ExitCode == 0, load.ToString());
        Assert.Equal(2000, (int)load.Json["acknowledged"]!);
        Assert.Equal(0, (int)load.Json["errors"]!);
        Assert.Equal(2000, File.ReadAllLines(acked).Length);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(100, (int)verify.Json["entities"]!);
        Assert.Equal(2000, (int)verify.Json["acked"]!);
        Assert.Equal(0, (int)verify.Json["lost"]!);
        Assert.Equal(0, (int)verify.Json["duplicated"]!);
        Assert.Equal(0, (int)verify.Json["unexpected"]!);
    }

    [Fact]
    public async Task Should_answer_echoes_over_the_event_route_without_touching_the_journal()
    {
        var prefix = $"echo-{Guid.NewGuid():N}-";

        var echo = await Cluster.ClientAsync("load", "--echo", "--events", "1000", "--entities", "50", "--entity-prefix", prefix, "--json");
        var state = await Cluster.ClientAsync("get", "--entity", prefix + "0", "--json");
        var both = await Cluster.ClientAsync("load", "--echo", "--acked", Path.Combine(Cluster.ScratchPath, "echo.jsonl"));

        Assert.True(echo.ExitCode == 0, echo.ToString());
        Assert.Equal("echo", (string?)echo.Json["mode"]);
        Assert.Equal(1000, (int)echo.Json["acknowledged"]!);
        Assert.Equal(0, (int)echo.Json["errors"]!);
        // An echo entity shares nothing with the event entity of the same name: it was never written.
        Assert.True(state.ExitCode == 1, state.ToString());
        Assert.Equal(0, (int)state.Json["version"]!);
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("--echo", both.Stderr);
    }

    [Fact]
    public async Task Should_report_a_repeated_event_id_as_duplicate_and_change_nothing()
    {
        var entity = $"dup-{Guid.NewGuid():N}";

        var first = await Cluster.ClientAsync("send", "--entity", entity, "--type", "deposit", "--data", """{"amount":5}""", "--id", "ev-1", "--json");
        var again = await Cluster.ClientAsync("send", "--entity", entity, "--type", "deposit", "--data", """{"amount":500}""", "--id", "ev-1", "--json");
        var state = await Cluster.ClientAsync("get", "--entity", entity, "--json");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.False((bool)first.Json["duplicate"]!);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.True((bool)again.Json["duplicate"]!);
        Assert.Equal(1, (int)again.Json["version"]!);
        Assert.Equal(1, (int)state.Json["eventCount"]!);
        Assert.Equal(5, (int)state.Json["data"]!["amount"]!);
    }

    [Fact]
    public async Task Should_show_three_members_up_with_shards_on_every_node()
    {
        var warmup = await Cluster.ClientAsync("load", "--events", "300", "--entities", "100");
        Assert.True(warmup.ExitCode == 0, warmup.ToString());

        JsonNode status = new JsonObject();
        await Poll.UntilAsync(async () =>
        {
            status = await Cluster.StatusAsync();
            return status["nodes"]!.AsArray().Count == 3 && status["nodes"]!.AsArray().All(n => (int)n!["shardCount"]! > 0);
        }, TimeSpan.FromSeconds(30), "shards on all three nodes");

        var members = status["members"]!.AsArray();
        Assert.Equal(3, members.Count);
        Assert.All(members, m => Assert.Equal("Up", (string?)m!["status"]));
        Assert.All(members, m => Assert.True((bool)m!["reachable"]!));
        Assert.Equal(Cluster.Nodes.Select(n => n.Address).Order(), members.Select(m => (string)m!["address"]!).Order());
    }

    [Fact]
    public async Task Should_log_membership_and_shard_distribution()
    {
        var seed = Cluster.Nodes[0];
        var warmup = await Cluster.ClientAsync("load", "--events", "200", "--entities", "50");
        Assert.True(warmup.ExitCode == 0, warmup.ToString());

        await Poll.UntilAsync(() => Cluster.Nodes.Any(n => n.LinesMatching(@"ShardDistribution \S+=\d+").Count > 0),
            TimeSpan.FromSeconds(30), "a ShardDistribution line");

        var memberUp = seed.LinesMatching(@"\bMemberUp member=127\.0\.0\.1:\d+");
        Assert.All(Cluster.Nodes, node => Assert.Contains(memberUp, line => line.Contains($"member={node.Endpoint}")));
        Assert.NotEmpty(seed.LinesMatching(@"\bLeaderChanged leader="));
    }

    [Theory]
    [InlineData("send --entity acct --type deposit --data [1,2]", "data must be a JSON object")]
    [InlineData("send --entity acct --type deposit --data {\"a\":", "data is not valid JSON")]
    [InlineData("send --entity acct --type deposit --data {\"a\":1,\"a\":2}", "data is not valid JSON")]
    [InlineData("send --entity acct --type bad type", "Unrecognized command or argument 'type'")]
    [InlineData("send --entity acct --type deposit --colour red", "Unrecognized command or argument '--colour'")]
    [InlineData("send --entity acct --type deposit --id bad/id", "event id 'bad/id' contains '/'")]
    [InlineData("send --entity acct --type dep%osit", "event type 'dep%osit' contains '%'")]
    public async Task Should_refuse_a_bad_event_with_exit_code_2_and_leave_the_entity_unchanged(string arguments, string message)
    {
        var entity = $"bad-input-{Guid.NewGuid():N}";
        var seeded = await Cluster.ClientAsync("send", "--entity", entity, "--type", "open", "--data", """{"ok":true}""");
        Assert.True(seeded.ExitCode == 0, seeded.ToString());

        var run = await Cluster.ClientAsync(arguments.Replace("--entity acct", $"--entity {entity}").Split(' '));

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.Stderr);
        Assert.Equal("", run.Stdout);
        var state = await Cluster.ClientAsync("get", "--entity", entity, "--json");
        Assert.Equal(1, (int)state.Json["version"]!);
        Assert.True((bool)state.Json["data"]!["ok"]!);
    }

    [Theory]
    [InlineData("send --entity bad/id --type deposit", "entity id 'bad/id' contains '/'")]
    [InlineData("send --type deposit", "Option '--entity' is required")]
    [InlineData("load --events zero --entities 5", "--events 'zero' must be a whole number")]
    [InlineData("frobnicate", "Unrecognized command or argument 'frobnicate'")]
    [InlineData("send --entity a --type t --bogus", "Unrecognized command or argument '--bogus'")]
    [InlineData("send --entity a --type t --data", "Required argument missing for option: '--data'")]
    public async Task Should_refuse_bad_usage_with_exit_code_2_before_contacting_the_cluster(string arguments, string message)
    {
        // The seeds come first, so that an option missing its value at the end stays at the end.
        var run = await ClientRun.RunAsync(new[] { "--seeds", $"127.0.0.1:{FreePorts.Next()}" }.Concat(arguments.Split(' ')));

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains(message, run.Stderr);
        Assert.Equal("", run.Stdout);
    }

    [Fact]
    public async Task Should_refuse_an_oversized_payload_and_send_nothing()
    {
        var entity = $"big-{Guid.NewGuid():N}";
        var data = $$"""{"blob":"{{new string('x', 70_000)}}"}""";

        var run = await Cluster.ClientAsync("send", "--entity", entity, "--type", "upload", "--data", data);
        var state = await Cluster.ClientAsync("get", "--entity", entity, "--json");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("limit is 65536 bytes", run.Stderr);
        Assert.Equal(0, (int)state.Json["version"]!);
    }
}
