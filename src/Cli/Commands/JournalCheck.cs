using EventCluster.Messages.Queries;

namespace EventCluster.Cli.Commands;

/// <summary>
/// Compares what the client recorded (acknowledged and sent event ids) with what each entity's
/// journal says it applied. Pure: the verify command feeds it, and tests feed it broken journals.
/// </summary>
public static class JournalCheck
{
    /// <summary>What verification found.</summary>
    /// <param name="Entities">Entities checked.</param>
    /// <param name="Acked">Acknowledged events in the file.</param>
    /// <param name="Applied">Events the journals hold for those entities.</param>
    /// <param name="Lost">Acknowledged but not applied.</param>
    /// <param name="Duplicated">Extra applications of an event id beyond the first.</param>
    /// <param name="Unexpected">Applied but never sent.</param>
    /// <param name="Gaps">Entities whose journal sequence numbers are not 1, 2, 3, … without holes.</param>
    /// <param name="Examples">A few concrete findings to show the user.</param>
    public sealed record Result(int Entities, int Acked, long Applied, int Lost, int Duplicated, int Unexpected, int Gaps,
        IReadOnlyList<string> Examples)
    {
        /// <summary>True when nothing is lost, doubled, unexpected or out of sequence.</summary>
        public bool Ok => Lost == 0 && Duplicated == 0 && Unexpected == 0 && Gaps == 0;
    }

    /// <summary>Checks the journals against the records.</summary>
    /// <param name="acked">Acknowledged events.</param>
    /// <param name="sent">Every event sent, or null when unknown (then only acknowledged ones are expected).</param>
    /// <param name="journals">Each entity's journal, in sequence-number order.</param>
    public static Result Check(IReadOnlyCollection<AckedRecord> acked, IReadOnlyCollection<AckedRecord>? sent,
        IReadOnlyDictionary<string, IReadOnlyList<JournalEntry>> journals)
    {
        const int maxExamples = 10;
        var examples = new List<string>();
        void Example(string text)
        {
            if (examples.Count < maxExamples)
                examples.Add(text);
        }

        var expected = new HashSet<(string, string)>((sent ?? acked).Concat(acked).Select(r => (r.EntityId, r.EventId)));
        var appliedCounts = new Dictionary<(string, string), int>();
        long applied = 0;
        var gaps = 0;
        foreach (var (entityId, entries) in journals)
        {
            var gapSeen = false;
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                applied++;
                var key = (entityId, entry.EventId);
                appliedCounts[key] = appliedCounts.GetValueOrDefault(key) + 1;
                if (entry.SequenceNr != i + 1 && !gapSeen)
                {
                    gapSeen = true;
                    gaps++;
                    Example($"gap: entity {entityId} has sequence number {entry.SequenceNr} at position {i + 1}");
                }
            }
        }

        var lost = 0;
        foreach (var record in acked.Distinct())
        {
            if (appliedCounts.ContainsKey((record.EntityId, record.EventId)))
                continue;
            lost++;
            Example($"lost: entity {record.EntityId} event {record.EventId} was acknowledged but is not in its journal");
        }

        var duplicated = 0;
        var unexpected = 0;
        foreach (var ((entityId, eventId), count) in appliedCounts)
        {
            if (count > 1)
            {
                duplicated += count - 1;
                Example($"duplicated: entity {entityId} event {eventId} is in its journal {count} times");
            }

            if (!expected.Contains((entityId, eventId)))
            {
                unexpected++;
                Example($"unexpected: entity {entityId} event {eventId} is in its journal but was never sent");
            }
        }

        return new Result(journals.Count, acked.Distinct().Count(), applied, lost, duplicated, unexpected, gaps, examples);
    }
}
