using HdrHistogram;

namespace EventCluster.Bench;

/// <summary>
/// Latencies the benchmark times itself (live delivery, webhook delivery, failover), recorded the
/// way the client's <c>load</c> records its own: an HdrHistogram of microseconds from 1 µs to an
/// hour at 3 significant digits. Every percentile in the results is read from such a histogram,
/// so a p99 means the same thing in every figure.
/// </summary>
public sealed class LatencyHistogram
{
    private readonly LongHistogram _microseconds = new(1, TimeSpan.FromHours(1).Ticks / 10, 3);

    public long Count => _microseconds.TotalCount;

    /// <summary>Records one latency; below 1 µs (a delivery seen before its acknowledgement) counts as 1 µs.</summary>
    public void Record(TimeSpan latency) =>
        _microseconds.RecordValue(Math.Clamp(latency.Ticks / 10, 1, _microseconds.HighestTrackableValue));

    /// <summary>The latency at <paramref name="percentile"/> (0–100) in milliseconds; 0 when nothing was recorded.</summary>
    public double Milliseconds(double percentile) => Count == 0 ? 0 : _microseconds.GetValueAtPercentile(percentile) / 1000.0;

    /// <summary>The highest latency recorded, in milliseconds; 0 when nothing was recorded.</summary>
    public double MaxMilliseconds => Count == 0 ? 0 : _microseconds.GetMaxValue() / 1000.0;
}
