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

    private readonly ConcurrentDictionary<(string PersistenceId, long SequenceNr), (long Position, long CommittedAt)> _positions = new();

    // ConcurrentDictionary.Count takes every lock of the map: the hot path keeps its own count.
    private int _count;

    /// <summary>The positions of <paramref name="system"/>.</summary>
    public static JournalPositions For(ActorSystem system) => system.WithExtension<JournalPositions, Provider>();

    /// <summary>
    /// Records the position of an event, and for a write the <see cref="System.Diagnostics.Stopwatch"/>
    /// timestamp of its commit (0 for a replayed event).
    /// </summary>
    public void Record(string persistenceId, long sequenceNr, long position, long committedAt = 0)
    {
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            _positions.Clear();
            Volatile.Write(ref _count, 0);
        }

        if (_positions.TryAdd((persistenceId, sequenceNr), (position, committedAt)))
            Interlocked.Increment(ref _count);
        else
            _positions[(persistenceId, sequenceNr)] = (position, committedAt);
    }

    /// <summary>Takes the recorded position of an event; null when none was recorded.</summary>
    public long? Take(string persistenceId, long sequenceNr) => Take(persistenceId, sequenceNr, out _);

    /// <summary>Takes the recorded position of an event and the timestamp of its commit (0 when none was recorded, or for a replayed event).</summary>
    public long? Take(string persistenceId, long sequenceNr, out long committedAt)
    {
        committedAt = 0;
        if (!_positions.TryRemove((persistenceId, sequenceNr), out var recorded))
            return null;
        Interlocked.Decrement(ref _count);
        committedAt = recorded.CommittedAt;
        return recorded.Position;
    }

    private sealed class Provider : ExtensionIdProvider<JournalPositions>
    {
        public override JournalPositions CreateExtension(ExtendedActorSystem system) => new();
    }
}
