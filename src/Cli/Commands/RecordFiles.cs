using EventCluster.Cli.Terminal;
using EventCluster.Messages.Commands;

namespace EventCluster.Cli.Commands;

/// <summary>The acked file and, beside it, the file of every event sent.</summary>
public sealed class RecordFiles : IAsyncDisposable
{
    private readonly StreamWriter _acked;
    private readonly StreamWriter _sent;
    private readonly Lock _gate = new();

    private RecordFiles(StreamWriter acked, StreamWriter sent)
    {
        _acked = acked;
        _sent = sent;
    }

    public static RecordFiles Create(string ackedPath, bool flushEachLine = true)
    {
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(ackedPath));
            if (directory is not null)
                Directory.CreateDirectory(directory);
            // Every line reaches the file at once: an interrupted run still leaves records
            // that verify can trust. A caller that records in batches flushes after each instead.
            return new RecordFiles(new StreamWriter(ackedPath, append: false) { AutoFlush = flushEachLine },
                new StreamWriter(AckedRecord.SentFileOf(ackedPath), append: false) { AutoFlush = flushEachLine });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot write '{ackedPath}': {ex.Message}");
        }
    }

    public void Sent(SubmitEvent command)
    {
        lock (_gate)
            _sent.WriteLine(new AckedRecord(command.EntityId, command.EventId).ToLine());
    }

    public void Acked(SubmitEvent command, long? position) => Acked(command.EntityId, command.EventId, position);

    public void Acked(string entityId, string eventId, long? position)
    {
        var at = DateTimeOffset.UtcNow;
        lock (_gate)
            _acked.WriteLine(new AckedRecord(entityId, eventId, position, at).ToLine());
    }

    /// <summary>Writes out what was recorded so far (for files not flushed at each line).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            _sent.Flush();
            _acked.Flush();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sent.DisposeAsync();
        await _acked.DisposeAsync();
    }
}
