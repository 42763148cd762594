using System.Text.RegularExpressions;
using EventCluster.Tests.Support;
using Xunit;

namespace EventCluster.Tests.Deployment;

/// <summary>
/// The README's client reference against the help the built <c>eventcluster</c> prints: every
/// command documented, every option of each command documented and every documented option real.
/// </summary>
public sealed class ClientHelpSpecs
{
    private static readonly HashSet<string> GlobalOptions = ["--seeds", "--timeout", "--tls-certificate", "--tls-password", "--help", "--version"];

    [Fact]
    public async Task Should_document_in_the_readme_exactly_the_commands_and_options_the_help_lists()
    {
        var documented = DocumentedCommands();
        var root = await HelpAsync([]);
        foreach (var option in new[] { "--seeds", "--timeout", "--tls-certificate", "--tls-password", "--version" })
            Assert.Contains(option, root.Options);

        var commands = new List<string>();
        foreach (var command in root.Commands)
        {
            var help = await HelpAsync([command]);
            if (help.Commands.Count == 0)
                commands.Add(command);
            else
                commands.AddRange(help.Commands.Select(action => $"{command} {action}"));
        }

        Assert.Equal(commands.Order(), documented.Keys.Order());
        foreach (var command in commands)
        {
            var help = await HelpAsync(command.Split(' '));
            var options = help.Options.Where(o => !GlobalOptions.Contains(o)).Order().ToList();
            Assert.True(options.SequenceEqual(documented[command].Order()),
                $"'{command}': --help lists {string.Join(" ", options)}; the README lists {string.Join(" ", documented[command].Order())}");
        }
    }

    [Fact]
    public async Task Should_print_the_version_and_suggest_the_closest_name_for_a_typo()
    {
        var version = await ClientRun.RunAsync(["--version"]);
        Assert.True(version.ExitCode == 0, version.ToString());
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout.Trim());

        var command = await ClientRun.RunAsync(["sned", "--entity", "a"]);
        Assert.True(command.ExitCode == 2, command.ToString());
        Assert.Contains("did you mean send?", command.Stderr);
        Assert.Equal("", command.Stdout);

        var option = await ClientRun.RunAsync(["subscribe", "--entitty", "a"]);
        Assert.True(option.ExitCode == 2, option.ToString());
        Assert.Contains("did you mean --entity?", option.Stderr);
    }

    [Fact]
    public async Task Should_show_each_default_in_the_help_and_refuse_a_value_out_of_range_naming_the_option()
    {
        var load = await ClientRun.RunAsync(["load", "--help"]);
        var add = await ClientRun.RunAsync(["webhooks", "add", "--help"]);
        Assert.True(load.ExitCode == 0 && add.ExitCode == 0, $"{load}\n{add}");
        foreach (var (help, option, fallback) in new[] { (load, "--events", "10000"), (load, "--concurrency", "256"), (add, "--max-attempts", "10"), (add, "--concurrency", "16") })
            Assert.Matches($@"{option} <\w+>[^\n]*(\n {{20,}}[^\n]*)*\[default: {fallback}\]", help.Stdout);

        var nowhere = $"127.0.0.1:{FreePorts.Next()}";
        foreach (var (arguments, message) in new[]
                 {
                     (new[] { "load", "--concurrency", "0" }, "--concurrency '0' must be a whole number from 1 to 10000"),
                     (new[] { "webhooks", "add", "--name", "a", "--url", "http://127.0.0.1:1/hook", "--max-attempts", "101" }, "--max-attempts '101' must be a whole number from 1 to 100"),
                     (new[] { "webhooks", "receive", "--port", "http" }, "--port 'http' must be a whole number from 1 to 65535"),
                     (new[] { "status", "--timeout", "0" }, "--timeout '0' must be a number of seconds above 0"),
                     (new[] { "webhooks", "ad", "--name", "a" }, "did you mean add? ('ad')"),
                 })
        {
            var run = await ClientRun.RunAsync([.. arguments, "--seeds", nowhere]);
            Assert.True(run.ExitCode == 2, $"{string.Join(" ", arguments)}: {run}");
            Assert.Contains(message, run.Stderr);
            Assert.Equal("", run.Stdout);
        }
    }

    /// <summary>The README's client table: command (two words for webhooks, certs and tokens) to its options.</summary>
    private static Dictionary<string, HashSet<string>> DocumentedCommands()
    {
        var readme = File.ReadAllText(Path.Combine(BuiltArtifacts.RepositoryRoot, "README.md"));
        var start = readme.IndexOf("## Client reference", StringComparison.Ordinal);
        var section = readme[start..readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal)];
        var commands = new Dictionary<string, HashSet<string>>();
        foreach (Match row in Regex.Matches(section, @"^\| `([^`]+)` \|", RegexOptions.Multiline))
        {
            var words = row.Groups[1].Value.Split(' ');
            var name = words[0] is "webhooks" or "certs" or "tokens" ? $"{words[0]} {words[1]}" : words[0];
            var options = Regex.Matches(row.Groups[1].Value, @"--[a-z][a-z-]*").Select(m => m.Value);
            if (!commands.TryGetValue(name, out var known))
                commands[name] = known = [];
            known.UnionWith(options);
        }

        return commands;
    }

    private static async Task<(List<string> Commands, List<string> Options)> HelpAsync(string[] command)
    {
        var run = await ClientRun.RunAsync([.. command, "--help"]);
        Assert.True(run.ExitCode == 0, run.ToString());
        List<string> Section(string heading, string pattern)
        {
            var lines = run.Stdout.Split('\n');
            var at = Array.FindIndex(lines, line => line.TrimEnd() == heading);
            return at < 0
                ? []
                : lines.Skip(at + 1).TakeWhile(line => line.StartsWith("  ", StringComparison.Ordinal))
                    .Select(line => Regex.Match(line, pattern)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        }

        return (Section("Commands:", @"^  ([a-z][a-z-]*)\b"), Section("Options:", @"^  (?:-\S+, )*(--[a-z][a-z-]*)"));
    }
}
