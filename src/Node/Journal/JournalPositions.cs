using System.Collections.Concurrent;
using Akka.Actor;

namespace EventCluster.Node.Journal;

/// <summary>
/// Hands the global position of each entity event from the journal to the entity that wrote or
/// replayed it. Akka.Persistence's replies carry no position, so the journal records it here,
/// keyed by persistence id and version, just before it answers; the entity takes it in its
/// persist or recovery handler.
/// </summary>
/// <remarks>
/// One per actor system. Only entity events are recorded, and normally each is taken at once, so
/// the map holds the events in flight. Entries nobody takes (a write that committed after its
/// entity gave up on it, a replay that went on after its entity stopped) are dropped together
/// once more than <see cref="MaxEntries"/> are held: the events in flight at that moment are then
/// acknowledged without a position, never with a wrong one.
/// </remarks>
public sealed class JournalPositions : IExtension
{
    /// <summary>Positions held at most.</summary>
    public const int MaxEntries = 200_000;

    private readonly ConcurrentDictionary<(string PersistenceId, long SequenceNr), long> _positions = new();

    // ConcurrentDictionary.Count takes every lock of the map: the hot path keeps its own count.
    private int _count;

    /// <summary>The positions of <paramref name="system"/>.</summary>
    public static JournalPositions For(ActorSystem system) => system.WithExtension<JournalPositions, Provider>();

    /// <summary>Records the position of an event.</summary>
    public void Record(string persistenceId, long sequenceNr, long position)
    {
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            _positions.Clear();
            Volatile.Write(ref _count, 0);
        }

        if (_positions.TryAdd((persistenceId, sequenceNr), position))
            Interlocked.Increment(ref _count);
        else
            _positions[(persistenceId, sequenceNr)] = position;
    }

    /// <summary>Takes the recorded position of an event; null when none was recorded.</summary>
    public long? Take(string persistenceId, long sequenceNr)
    {
        if (!_positions.TryRemove((persistenceId, sequenceNr), out var position))
            return null;
        Interlocked.Decrement(ref _count);
        return position;
    }

    private sealed class Provider : ExtensionIdProvider<JournalPositions>
    {
        public override JournalPositions CreateExtension(ExtendedActorSystem system) => new();
    }
}
