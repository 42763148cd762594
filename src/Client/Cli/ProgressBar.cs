using System.Diagnostics;

namespace EventCluster.Client.Cli;

/// <summary>
/// A progress bar on standard error: redrawn in place on a terminal, a plain line every few
/// seconds when standard error is a file or pipe.
/// </summary>
public sealed class ProgressBar : IDisposable
{
    private readonly long _total;
    private readonly Func<(long Done, long Errors, long Retries)> _read;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer _timer;
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private readonly Lock _gate = new();
    private bool _finished;

    /// <summary>Starts drawing progress towards <paramref name="total"/>.</summary>
    public ProgressBar(long total, Func<(long Done, long Errors, long Retries)> read)
    {
        _total = total;
        _read = read;
        var period = _interactive ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(5);
        _timer = new Timer(_ => Draw(final: false), null, period, period);
    }

    /// <summary>Draws the final state and stops.</summary>
    public void Finish()
    {
        _timer.Dispose();
        Draw(final: true);
    }

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();

    private void Draw(bool final)
    {
        lock (_gate)
        {
            if (_finished)
                return;
            _finished = final;
            var (done, errors, retries) = _read();
            var fraction = _total == 0 ? 1 : (double)done / _total;
            const int width = 30;
            var filled = (int)(fraction * width);
            var rate = done / Math.Max(0.001, _clock.Elapsed.TotalSeconds);
            var line = $"[{new string('#', filled)}{new string('-', width - filled)}] {done:N0}/{_total:N0} {fraction:P0} " +
                       $"{rate:N0} ev/s errors {errors} retries {retries}";
            if (_interactive)
                Console.Error.Write($"\r{line}{(final ? "\n" : "")}");
            else
                Console.Error.WriteLine(line);
        }
    }
}
