using System.Diagnostics;
using Spectre.Console;

namespace EventCluster.Bench;

/// <summary>
/// Where the benchmark's progress and result tables go. When stderr is a terminal they are drawn there
/// with Spectre.Console: a spinner naming the phase under way, timed lines, the table with its verdicts
/// in colour; stdout then carries the plain lines only if it is redirected, so a file or a pipe gets
/// exactly what it always got. Otherwise (CI logs, pipes) everything is plain lines on stdout.
/// </summary>
internal sealed class BenchConsole
{
    private readonly Stopwatch _clock;
    private readonly IAnsiConsole? _terminal;
    private readonly bool _plain;
    private StatusContext? _status;

    private BenchConsole(Stopwatch clock, IAnsiConsole? terminal, bool plain)
    {
        _clock = clock;
        _terminal = terminal;
        _plain = plain;
    }

    /// <summary>Spectre.Console on stderr when it is a terminal, plain lines otherwise.</summary>
    public static BenchConsole Create(Stopwatch clock) =>
        Console.IsErrorRedirected
            ? new BenchConsole(clock, null, plain: true)
            : new BenchConsole(clock, AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }),
                plain: Console.IsOutputRedirected);

    /// <summary>One line of progress, stamped with the time since the start.</summary>
    public void Say(string line)
    {
        var stamp = $"[{_clock.Elapsed:mm\\:ss}]";
        if (_plain)
            Console.WriteLine($"{stamp} {line}");
        if (_terminal is null)
            return;
        _terminal.MarkupLineInterpolated($"[grey]{stamp}[/] {line}");
        _status?.Status(Markup.Escape(line));
    }

    /// <summary>Runs the measurements, under a spinner that names the latest phase when on a terminal.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> measure)
    {
        if (_terminal is null)
            return await measure();
        return await _terminal.Status().Spinner(Spinner.Known.Dots).StartAsync("starting...", async context =>
        {
            _status = context;
            try
            {
                return await measure();
            }
            finally
            {
                _status = null;
            }
        });
    }

    /// <summary>The table of a run: Markdown on stdout, a drawn table on the terminal.</summary>
    public void Results(ResultTable results)
    {
        if (_plain)
        {
            Console.WriteLine();
            Console.WriteLine(results.ToMarkdown());
        }

        if (_terminal is null)
            return;
        var table = new Table().Border(TableBorder.Rounded).AddColumns("Measure", "Result", "Target", "");
        foreach (var (measure, result, target, verdict) in results.Rows)
        {
            table.AddRow(new Text(measure), new Text(result), new Text(target), verdict switch
            {
                "" => new Text(""),
                "met" => new Markup("[green]met[/]"),
                _ => new Markup($"[bold red]{Markup.Escape(verdict.Trim('*'))}[/]"),
            });
        }

        _terminal.WriteLine();
        _terminal.MarkupLineInterpolated($"[bold]{results.Title}[/]");
        _terminal.Write(table);
    }

    /// <summary>A failure of the run, on stderr.</summary>
    public void Error(string line)
    {
        if (_terminal is null)
            Console.Error.WriteLine($"bench: {line}");
        else
            _terminal.MarkupLineInterpolated($"[red]bench: {line}[/]");
    }
}
