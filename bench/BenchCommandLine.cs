using System.CommandLine;
using System.Globalization;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;

namespace EventCluster.Bench;

/// <summary>The benchmark's command line on System.CommandLine: generated --help, --version, suggestions for misspelt options.</summary>
internal static class BenchCommandLine
{
    public static readonly Option<string> Out = new("--out")
    {
        HelpName = "FILE",
        Description = "where to write the results (JSON); the Markdown table goes beside it (FILE with .md)",
        Required = true,
    };

    public static readonly Option<bool> Quick = new("--quick")
    {
        Description = "a smaller run in under 5 minutes: fewer rounds and trials, 100,000 entities instead of 1,000,000",
    };

    public static readonly Option<bool> Smoke = new("--smoke")
    {
        Description = "the least run that goes through every phase (a fifth to a tenth of --quick's sizes, one failover trial): " +
                      "whether the benchmark works, in about a minute; its figures are not for comparison",
    };

    public static readonly Option<string> Journal = new("--journal")
    {
        HelpName = "JOURNAL",
        Description = "sqlite (default: a fresh file of this run) or postgres:CONNECTION-STRING (an empty database)",
    };

    public static readonly Option<bool> KeepWork = new("--keep-work")
    {
        Description = "keep the run's directory (node logs, journal) instead of deleting it",
    };

    public static readonly Option<bool> NoBuild = new("--no-build")
    {
        Description = "run the node and client built with the benchmark, in its configuration, instead of building them in Release first",
    };

    public static readonly Option<bool> Listeners = new("--listeners")
    {
        Description = "the listener figures instead: live latency at 5,000 events/s, 100 Server-Sent Event streams at 2,000 events/s " +
                      "with the node CPU they cost, catch-up read over 1,000,000 events (200,000 with --quick)",
    };

    public static readonly Option<bool> Webhooks = new("--webhooks")
    {
        Description = "the webhook figures instead: deliveries/s to a local receiver, latency at 500 events/s, " +
                      "seconds until a subscription resumes after kill -9 of its node",
    };

    public static readonly Option<bool> Bulk = new("--bulk")
    {
        Description = "the bulk and HTTP figures instead: the native single-event rate, send --file of 1,000,000 events over 10,000 entities " +
                      "(200,000 with --quick, 50,000 with --smoke) then verify, and this benchmark's own HTTP load generator: single events " +
                      "to POST /api/events of one node (1,024 in flight) and NDJSON batches of 1,000 to POST /api/events/batch (8 in flight)",
    };

    public static readonly Option<bool> Limits = new("--limits")
    {
        Description = $"the rate-limit figures instead, on nodes started with --rate-limit-writes {EventCluster.Bench.Limits.WritesPerSecond}: the p99 of a steady " +
                      $"producer's HTTP writes ({EventCluster.Bench.Limits.SteadyRate}/s to the second node) alone, then while another client floods the first node " +
                      $"({EventCluster.Bench.Limits.FloodInFlight} in flight) past its limit, and their ratio (target ≤ 2)",
    };

    public static readonly Option<bool> Failover = new("--failover")
    {
        Description = "the failover figures instead: the durable saturation rate, then the false-downing check (half of that rate " +
                      "for 5 minutes, 1 with --quick, 20 s with --smoke, with every node's log and cluster view watched for an " +
                      "unreachable or downed member), then the crash-failover trials (5; 2 with --quick, 1 with --smoke)",
    };

    public static readonly Option<int?> DowningCheckSeconds = new("--downing-check-seconds")
    {
        HelpName = "SECONDS",
        Description = "with --failover: how long the false-downing check runs instead (0 leaves it out)",
    };

    public static readonly Option<bool> Growth = new("--growth")
    {
        Description = "the journal-growth figures instead: the durable rate (load of 100,000 events over 1,000 entities) and the latency at half " +
                      "of it on the fresh journal, then the journal pre-filled directly in the database (not through the cluster) with rows " +
                      "of other entities, then the same load on the grown journal, and the ratio (target ≥ 0.8)",
    };

    public static readonly Option<long?> PrefillRows = new("--prefill-rows")
    {
        HelpName = "N",
        Description = "with --growth: the rows to pre-fill (10 events per entity; default 10,000,000, 2,000,000 with --quick, 200,000 with --smoke)",
    };

    public static readonly Option<long?> Scale = new("--scale")
    {
        HelpName = "N",
        Description = $"the memory figure instead: N distinct entities (default {EventCluster.Bench.Scale.DefaultEntities:N0}), one event each, " +
                      $"and each node's peak resident memory (target ≤ {EventCluster.Bench.Scale.TargetRssMb} MB)",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private const string Description =
        "The EventCluster benchmark: builds the node and client (Release), starts three node processes on free ports and " +
        "measures through the real eventcluster client (raw vs durable throughput, latency at half load, crash failover, " +
        "1,000,000 entities; or the listener, webhook, bulk, rate-limit, failover, journal-growth or memory figures). Progress and the table go to stdout, drawn on stderr " +
        "instead when that is a terminal; the results to --out FILE.";

    // A billion rows of 10 events per entity is 100 million entities: far past any journal the benchmark's machine holds.
    private const long MaxPrefillRows = 1_000_000_000;

    // Response files would read a "@..." connection string as a file name.
    private static readonly ParserConfiguration Parser = new() { ResponseFileTokenReplacer = null };

    private static readonly RootCommand Command = CreateCommand();

    public static ParseResult Parse(IReadOnlyList<string> args) => Command.Parse(args, Parser);

    /// <summary>The first problem of the command line in the benchmark's words, or null when it parsed.</summary>
    public static string? FirstError(ParseResult result)
    {
        if (result.Errors.Count == 0)
            return null;
        if (result.UnmatchedTokens.Count > 0)
            return result.UnmatchedTokens[0].StartsWith('-')
                ? $"unknown option '{result.UnmatchedTokens[0].Split('=')[0]}'"
                : $"unexpected argument '{result.UnmatchedTokens[0]}'";
        if (result.GetResult(Out) is not { IdentifierToken: not null })
            return "--out FILE is required";
        if (result.Errors.FirstOrDefault(e => e.SymbolResult is OptionResult) is { SymbolResult: OptionResult option } optionError)
        {
            return option.Tokens.Count switch
            {
                0 when option.Option.Arity.MinimumNumberOfValues > 0 => $"option {option.Option.Name} needs a value",
                > 1 => $"option {option.Option.Name} is given twice",
                _ => optionError.Message,
            };
        }

        return result.Errors[0].Message;
    }

    /// <summary>System.CommandLine's suggestions for the misspelt options ("Did you mean ... --quick").</summary>
    public static void WriteSuggestions(ParseResult result, TextWriter output)
    {
        // Only the option-like tokens: the value after an unknown option would draw suggestions of its own.
        var misspelt = result.UnmatchedTokens.Where(t => t.StartsWith('-')).Select(t => t.Split('=')[0]).ToList();
        if (misspelt.Count == 0 || Command.Parse(misspelt, Parser) is not { Action: ParseErrorAction action } suggestions)
            return;
        action.ShowHelp = false;
        action.ShowTypoCorrections = true;
        using var text = new StringWriter();
        suggestions.Invoke(new InvocationConfiguration { Output = text, Error = TextWriter.Null });
        if (text.ToString().Trim() is { Length: > 0 } written)
            output.WriteLine(written);
    }

    private static RootCommand CreateCommand()
    {
        var command = new RootCommand(Description) { Out, Quick, Smoke, Journal, KeepWork, NoBuild, Listeners, Webhooks, Bulk, Limits, Failover, DowningCheckSeconds, Growth, PrefillRows, Scale };
        Journal.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: var journal }] && journal != "sqlite" && !journal.StartsWith("postgres:", StringComparison.Ordinal))
                result.AddError("--journal must be sqlite or postgres:CONNECTION-STRING");
        });
        // Both parsed here rather than by the default converter (whose failure a validator cannot read without an
        // unhandled exception), so that a word and a number out of range get the same message.
        DowningCheckSeconds.CustomParser = result =>
        {
            if (result.Tokens is [{ Value: var text }] && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) &&
                seconds >= 0)
                return seconds;
            result.AddError("--downing-check-seconds must be 0 or more (whole seconds)");
            return null;
        };
        Scale.CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
                return null;
            if (result.Tokens is [{ Value: var text }] && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var entities) &&
                entities is >= 1 and <= int.MaxValue)
                return entities;
            result.AddError($"--scale must be a whole number of entities from 1 to {int.MaxValue.ToString("N0", CultureInfo.InvariantCulture)}");
            return null;
        };
        PrefillRows.CustomParser = result =>
        {
            if (result.Tokens is [{ Value: var text }] && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var rows) &&
                rows is >= 1 and <= MaxPrefillRows)
                return rows;
            result.AddError($"--prefill-rows must be a whole number from 1 to {MaxPrefillRows.ToString("N0", CultureInfo.InvariantCulture)}");
            return null;
        };
        command.Validators.Add(result =>
        {
            if (new Option[] { Listeners, Webhooks, Bulk, Limits, Failover, Growth, Scale }.Count(option => result.GetResult(option) is not null) > 1)
                result.AddError("--listeners, --webhooks, --bulk, --limits, --failover, --growth and --scale are separate runs: give one of them");
            if (result.GetResult(PrefillRows) is not null && result.GetResult(Growth) is null)
                result.AddError("--prefill-rows belongs to a --growth run");
            if (result.GetResult(DowningCheckSeconds) is not null && result.GetResult(Failover) is null)
                result.AddError("--downing-check-seconds belongs to a --failover run");
        });
        return command;
    }
}
