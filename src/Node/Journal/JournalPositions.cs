using System.Collections.Concurrent;
using Akka.Actor;

namespace EventCluster.Node.Journal;

/// <summary>
/// Hands the global position of each entity event from the journal to the entity that wrote or
/// replayed it. Akka.Persistence's replies carry no position, so the journal records it here,
/// keyed by persistence id and version, just before it answers; the entity takes it in its
/// persist or recovery handler.
/// </summary>
/// <remarks>One per actor system. Only entity events are recorded, and every one is taken by its entity.</remarks>
public sealed class JournalPositions : IExtension
{
    private readonly ConcurrentDictionary<(string PersistenceId, long SequenceNr), long> _positions = new();

    /// <summary>The positions of <paramref name="system"/>.</summary>
    public static JournalPositions For(ActorSystem system) => system.WithExtension<JournalPositions, Provider>();

    /// <summary>Records the position of an event.</summary>
    public void Record(string persistenceId, long sequenceNr, long position) => _positions[(persistenceId, sequenceNr)] = position;

    /// <summary>Takes the recorded position of an event; null when none was recorded.</summary>
    public long? Take(string persistenceId, long sequenceNr) =>
        _positions.TryRemove((persistenceId, sequenceNr), out var position) ? position : null;

    private sealed class Provider : ExtensionIdProvider<JournalPositions>
    {
        public override JournalPositions CreateExtension(ExtendedActorSystem system) => new();
    }
}
