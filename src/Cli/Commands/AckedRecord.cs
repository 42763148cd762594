using System.Text.Json;
using System.Text.Json.Serialization;
using EventCluster.Cli.Terminal;
using EventCluster.Client;

namespace EventCluster.Cli.Commands;

/// <summary>
/// One line of an acked (or sent) file: <c>{"entityId":…,"eventId":…}</c>; an acked line also
/// carries the event's <c>position</c> and <c>ackedAt</c>, when the client got the acknowledgement.
/// </summary>
public sealed record AckedRecord(
    string EntityId,
    string EventId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Position = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? AckedAt = null)
{
    /// <summary>The file beside an acked file that lists every event sent, acknowledged or not.</summary>
    public static string SentFileOf(string ackedFile) => ackedFile + ".sent";

    /// <summary>The record as one JSON line.</summary>
    public string ToLine() => JsonSerializer.Serialize(this, Output.JsonLine);

    /// <summary>Reads a file of records; throws <see cref="UsageException"/> naming the first bad line.</summary>
    public static List<AckedRecord> ReadAll(string path)
    {
        if (!File.Exists(path))
            throw new UsageException($"file '{path}' does not exist");
        var records = new List<AckedRecord>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            AckedRecord? record;
            try
            {
                record = JsonSerializer.Deserialize<AckedRecord>(line, Output.JsonLine);
            }
            catch (JsonException ex)
            {
                throw new UsageException($"{path}:{lineNumber}: not a JSON record: {ex.Message}");
            }

            if (record is null || string.IsNullOrEmpty(record.EntityId) || string.IsNullOrEmpty(record.EventId))
                throw new UsageException($"{path}:{lineNumber}: needs entityId and eventId");
            records.Add(record);
        }

        return records;
    }
}
