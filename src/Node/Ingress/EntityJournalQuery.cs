using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Node.Entities;

namespace EventCluster.Node.Ingress;

/// <summary>
/// Answers <see cref="GetEntityJournal"/>: pages of an entity's applied event ids, read through
/// Akka.Persistence.Query straight from the journal, the source of truth.
/// </summary>
public sealed class EntityJournalQuery(ActorSystem system)
{
    /// <summary>Largest page answered at once; keeps a reply far below the remoting frame size.</summary>
    public const int MaxPageSize = 5_000;

    // Resolved on first use: a node that is never asked for a journal never starts the read side.
    private readonly Lazy<SqlReadJournal> _journal =
        new(() => PersistenceQuery.Get(system).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier));

    private readonly Lazy<IMaterializer> _materializer = new(() => system.Materializer());

    /// <summary>One page of the entity's journal.</summary>
    public async Task<EntityJournalResult> ReadAsync(GetEntityJournal query)
    {
        var pageSize = Math.Clamp(query.MaxEntries, 1, MaxPageSize);
        var envelopes = await _journal.Value
            .CurrentEventsByPersistenceId(EventEntity.PersistenceIdOf(query.EntityId), Math.Max(1, query.FromSequenceNr), long.MaxValue)
            .Take(pageSize + 1)
            .RunWith(Sink.Seq<EventEnvelope>(), _materializer.Value);

        var entries = envelopes
            .Take(pageSize)
            .Select(envelope => new JournalEntry(envelope.SequenceNr, (envelope.Event as EventApplied)?.EventId ?? ""))
            .ToList();
        return new EntityJournalResult(query.EntityId, entries, envelopes.Count > pageSize);
    }
}
