using System.Collections.Concurrent;
using Akka.Actor;

namespace EventCluster.Node.Journal;

/// <summary>
/// Hands the global position of each entity event from the journal to the entity that wrote or
/// replayed it. Akka.Persistence's replies carry no position, so the journal records it here,
/// keyed by persistence id and version, just before it answers; the entity takes it in its
/// persist or recovery handler, and forgets what is left of its own when it stops.
/// </summary>
/// <remarks>
/// One per actor system. Only entity events are recorded. Should entries pile up all the same
/// (replays that go on after their entity gave up), past <see cref="MaxEntities"/> entities they
/// are dropped: those events are then acknowledged without a position, never with a wrong one.
/// </remarks>
public sealed class JournalPositions : IExtension
{
    /// <summary>Entities with recorded positions at most.</summary>
    public const int MaxEntities = 100_000;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<long, long>> _positions = new(StringComparer.Ordinal);

    /// <summary>The positions of <paramref name="system"/>.</summary>
    public static JournalPositions For(ActorSystem system) => system.WithExtension<JournalPositions, Provider>();

    /// <summary>Records the position of an event.</summary>
    public void Record(string persistenceId, long sequenceNr, long position)
    {
        if (_positions.Count >= MaxEntities && !_positions.ContainsKey(persistenceId))
            _positions.Clear();
        _positions.GetOrAdd(persistenceId, _ => new ConcurrentDictionary<long, long>())[sequenceNr] = position;
    }

    /// <summary>Takes the recorded position of an event; null when none was recorded.</summary>
    public long? Take(string persistenceId, long sequenceNr)
    {
        if (!_positions.TryGetValue(persistenceId, out var entity) || !entity.TryRemove(sequenceNr, out var position))
            return null;
        if (entity.IsEmpty)
            _positions.TryRemove(new KeyValuePair<string, ConcurrentDictionary<long, long>>(persistenceId, entity));
        return position;
    }

    /// <summary>Forgets every position recorded for an entity (it stopped).</summary>
    public void Forget(string persistenceId) => _positions.TryRemove(persistenceId, out _);

    private sealed class Provider : ExtensionIdProvider<JournalPositions>
    {
        public override JournalPositions CreateExtension(ExtendedActorSystem system) => new();
    }
}
