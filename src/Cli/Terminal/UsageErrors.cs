using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// Reports a command line the parser refused, from the parse result's structure: its errors, the
/// closest names the command takes for each token it could not place, then where to find the
/// usage. Exit 2: nothing was sent.
/// </summary>
public static class UsageErrors
{
    public static int Report(ParseResult parse)
    {
        var unmatched = parse.UnmatchedTokens;
        // A command that needs an action (the root, webhooks, certs) has no options of its own to
        // miss: its errors are the tokens it could not place and the missing action, which a
        // misspelt action names better alone.
        var misspeltAction = parse.CommandResult.Command.Subcommands.Count > 0 && unmatched.Count > 0;
        if (misspeltAction)
        {
            foreach (var token in unmatched)
                Output.Error($"Unrecognized command or argument '{token}'.");
        }

        foreach (var error in parse.Errors.Where(e => !(misspeltAction && e.SymbolResult is CommandResult)))
            Output.Error(error.Message);
        foreach (var token in unmatched)
        {
            var names = ClosestNames(parse.CommandResult, token);
            if (names.Count > 0)
                Output.Error($"did you mean {string.Join(" or ", names)}? ('{token}')");
        }

        Console.Error.WriteLine("run 'eventcluster --help' for usage");
        return ExitCodes.Usage;
    }

    /// <summary>
    /// The names the command takes nearest to <paramref name="token"/>: for <c>-x</c> its options
    /// and the global ones, otherwise its actions. A name is near when at most one edit in three
    /// characters of the token (a swap of two neighbours counts as one) tells them apart.
    /// </summary>
    public static IReadOnlyList<string> ClosestNames(CommandResult command, string token)
    {
        IEnumerable<string> names;
        if (token.StartsWith('-'))
        {
            var options = command.Command.Options.AsEnumerable();
            for (var parent = command.Parent as CommandResult; parent is not null; parent = parent.Parent as CommandResult)
                options = options.Concat(parent.Command.Options.Where(o => o.Recursive));
            names = options.Where(o => !o.Hidden && o is not (HelpOption or VersionOption)).SelectMany(o => o.Aliases.Prepend(o.Name));
        }
        else
            names = command.Command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name));

        var reach = Math.Clamp(token.TrimStart('-').Length / 3, 1, 3);
        var near = names.Distinct(StringComparer.Ordinal)
            .Select(name => (Name: name, Distance: Distance(token, name)))
            .Where(candidate => candidate.Distance <= reach)
            .ToList();
        return near.Where(candidate => candidate.Distance == near.Min(c => c.Distance))
            .Select(candidate => candidate.Name)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Edits from one string to the other: insertions, deletions, substitutions and swaps of neighbours.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }

        return d[a.Length, b.Length];
    }
}
