using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace EventCluster.Node.Hosting;

/// <summary>
/// The node's command line on System.CommandLine: one option per <see cref="NodeSettings.Options"/> entry,
/// generated <c>--help</c> (with the environment variables and appsettings.json keys), <c>--version</c>
/// and suggestions for misspelt options.
/// </summary>
public static class NodeCommandLine
{
    private const string Description =
        "One node of an EventCluster cluster: sharded entities that persist their events to SQLite or PostgreSQL, " +
        "an HTTP API and a dashboard.";

    // Response files would read "@..." values (an API token, a password) as file names.
    private static readonly ParserConfiguration Parser = new() { ResponseFileTokenReplacer = null };

    /// <summary>Parses the command line; errors are in the result, values are read through <see cref="NodeConfiguration.AddNodeCommandLine"/>.</summary>
    public static ParseResult Parse(IReadOnlyList<string> args) => CreateCommand().Parse(args, Parser);

    /// <summary>
    /// The value given for <paramref name="option"/>, or null when the command line does not give it
    /// exactly once (<see cref="FirstError"/> says what is wrong then).
    /// </summary>
    public static string? ValueOf(ParseResult result, string option) =>
        result.GetResult(option) is OptionResult { Implicit: false, Tokens.Count: 1 } given ? given.Tokens[0].Value : null;

    /// <summary>The first problem of the command line in the node's words, or null when it parsed.</summary>
    public static string? FirstError(ParseResult result)
    {
        if (result.Errors.Count == 0)
        {
            // A blank value on the command line is a mistake, not a wish for the default.
            var blank = NodeSettings.Options.Select(o => o.Option)
                .FirstOrDefault(option => ValueOf(result, option) is { } given && string.IsNullOrWhiteSpace(given));
            return blank is null ? null : $"option {blank} needs a value";
        }

        if (result.UnmatchedTokens.Count > 0)
            return result.UnmatchedTokens[0].StartsWith('-')
                ? $"unknown option '{result.UnmatchedTokens[0].Split('=')[0]}'"
                : $"unexpected argument '{result.UnmatchedTokens[0]}'";
        var error = result.Errors[0];
        return error.SymbolResult is OptionResult option
            ? option.Tokens.Count switch
            {
                0 => $"option {option.Option.Name} needs a value",
                > 1 => $"option {option.Option.Name} is given twice",
                _ => error.Message,
            }
            : error.Message;
    }

    /// <summary>
    /// Writes System.CommandLine's suggestions for the misspelt options of <paramref name="result"/>
    /// ("'--prot' was not matched. Did you mean one of the following? --port") to <paramref name="output"/>.
    /// </summary>
    public static void WriteSuggestions(ParseResult result, TextWriter output)
    {
        // Only the option-like tokens: the value after an unknown option would draw suggestions of its own.
        var misspelt = result.UnmatchedTokens.Where(t => t.StartsWith('-')).Select(t => t.Split('=')[0]).ToList();
        if (misspelt.Count == 0)
            return;
        var suggestions = CreateCommand().Parse(misspelt, Parser);
        if (suggestions.Action is not ParseErrorAction action)
            return;
        action.ShowHelp = false;
        action.ShowTypoCorrections = true;
        // The error lines themselves were already written in the node's words.
        using var text = new StringWriter();
        suggestions.Invoke(new InvocationConfiguration { Output = text, Error = TextWriter.Null });
        if (text.ToString().Trim() is { Length: > 0 } written)
            output.WriteLine(written);
    }

    /// <summary>The root command with every node option.</summary>
    public static RootCommand CreateCommand()
    {
        var command = new RootCommand(Description);
        foreach (var (option, _, _, meaning, valueName) in NodeSettings.Options)
        {
            // Strings, not typed options: a value from the environment or appsettings.json is checked
            // by the same rules and with the same messages as one from the command line.
            command.Options.Add(new Option<string>(option) { Description = meaning, HelpName = valueName });
        }

        var help = command.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithSourcesAction((SynchronousCommandLineAction)help.Action!);
        return command;
    }

    /// <summary>The generated help, followed by where else each option may come from and the exit codes.</summary>
    private sealed class HelpWithSourcesAction(SynchronousCommandLineAction standard) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            standard.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Environment variables and appsettings.json keys (the command line wins over the environment,");
            output.WriteLine("the environment over the EventCluster section of appsettings.json, that over the default):");
            foreach (var (option, variable, key, _, _) in NodeSettings.Options)
                output.WriteLine($"  {option,-25} {variable,-36} EventCluster:{key}");
            output.WriteLine();
            output.WriteLine("Exit codes: 0 after a graceful leave, 1 when the journal cannot be opened or the cluster downed");
            output.WriteLine("this node, 2 for a bad option.");
            return 0;
        }
    }
}
