namespace EventCluster.Messages.Queries;

/// <summary>
/// Reads the ids of the events an entity applied straight from the journal, the source of
/// truth, one page at a time; answered with <see cref="EntityJournalResult"/>.
/// </summary>
/// <param name="EntityId">The entity to read.</param>
/// <param name="FromSequenceNr">First journal sequence number to return.</param>
/// <param name="MaxEntries">Largest page to return.</param>
public sealed record GetEntityJournal(string EntityId, long FromSequenceNr, int MaxEntries) : IEventClusterMessage;

/// <summary>One event of an entity's journal.</summary>
/// <param name="SequenceNr">Its journal sequence number (the entity's version after it).</param>
/// <param name="EventId">The id of the event.</param>
public sealed record JournalEntry(long SequenceNr, string EventId);

/// <summary>A page of an entity's journal, in sequence-number order.</summary>
/// <param name="EntityId">The entity.</param>
/// <param name="Entries">The events of the page.</param>
/// <param name="HasMore">True when events follow the page.</param>
public sealed record EntityJournalResult(string EntityId, IReadOnlyList<JournalEntry> Entries, bool HasMore)
    : IEventClusterMessage;
