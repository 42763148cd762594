using System.Diagnostics;
using Spectre.Console;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// Progress of a long command on standard error: a Spectre.Console progress bar when standard
/// error is a terminal, else a plain line every five seconds (CI logs, pipes).
/// </summary>
public static class LoadProgress
{
    /// <summary>Runs <paramref name="work"/> while showing how far <paramref name="read"/> says it got towards <paramref name="total"/>.</summary>
    public static async Task RunAsync(long total, Func<(long Done, long Errors, long Retries)> read, Func<Task> work)
    {
        var clock = Stopwatch.StartNew();
        string Figures()
        {
            var (done, errors, retries) = read();
            var rate = done / Math.Max(0.001, clock.Elapsed.TotalSeconds);
            return $"{done:N0}/{total:N0} {rate:N0} ev/s errors {errors} retries {retries}";
        }

        if (Console.IsErrorRedirected)
        {
            string Line() => $"{(total == 0 ? 1 : (double)read().Done / total):P0} {Figures()}";
            var running = work();
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
            while (await Task.WhenAny(running, timer.WaitForNextTickAsync().AsTask()) != running)
                Console.Error.WriteLine(Line());
            await running;
            Console.Error.WriteLine(Line());
            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask(Markup.Escape(Figures()), maxValue: Math.Max(1, total));
                var running = work();
                using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
                do
                {
                    bar.Value = read().Done;
                    bar.Description = Markup.Escape(Figures());
                }
                while (await Task.WhenAny(running, timer.WaitForNextTickAsync().AsTask()) != running);
                bar.Value = read().Done;
                bar.Description = Markup.Escape(Figures());
                await running;
            });
    }
}
