using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;

namespace EventCluster.Client.Subscriptions;

/// <summary>What a subscription reads: where it starts, which events, and whether the cluster keeps its position.</summary>
public sealed class SubscribeOptions
{
    /// <summary>Start from the beginning of the log: every event.</summary>
    public const long Start = 0;

    /// <summary>Start at the end of the log: only events committed from now on.</summary>
    public const long End = ReadEventLog.FromEnd;

    /// <summary>
    /// The position after which to start (<see cref="Start"/>, <see cref="End"/>, or a position
    /// seen before: the subscription resumes after it). With a group that has a position already,
    /// the group's position wins.
    /// </summary>
    public long From { get; set; } = Start;

    /// <summary>Only events of these types (any of them); empty for every type.</summary>
    public IList<string> Types { get; set; } = [];

    /// <summary>Only the events of this entity.</summary>
    public string? EntityId { get; set; }

    /// <summary>Only the events of entities whose id starts with this.</summary>
    public string? EntityPrefix { get; set; }

    /// <summary>
    /// A consumer group: the cluster keeps the group's position, one member reads at a time and
    /// the others wait as standbys, taking over when it leaves or its lease lapses.
    /// </summary>
    public string? Group { get; set; }

    /// <summary>
    /// End the subscription after this many events (default: never). The last of them counts as
    /// handled, so with a group the next reader starts after it.
    /// </summary>
    public long Max { get; set; } = long.MaxValue;

    /// <summary>Told of what happens beside the events: caught up, group membership, a node not answering.</summary>
    public Action<SubscriptionNotice>? OnNotice { get; set; }

    /// <summary>The filter sent to the cluster.</summary>
    public EventFilter Filter => new(Types.ToList(), EntityId, EntityPrefix);

    /// <summary>A copy, so that changes after the subscription started do not reach it.</summary>
    internal SubscribeOptions Snapshot() => new()
    {
        From = From, Types = Types.ToList(), EntityId = EntityId, EntityPrefix = EntityPrefix, Group = Group, Max = Max, OnNotice = OnNotice,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first broken rule.</summary>
    public void Validate()
    {
        if (Types is null || Types.Any(type => type is null))
            throw new ArgumentException("Types must be a list of event types (empty for every type)", nameof(Types));
        if (Max < 1)
            throw new ArgumentException("Max must be 1 or more", nameof(Max));
        if (From < 0 && From != End)
            throw new ArgumentException("From must be Start, End or a position (a whole number of 0 or more)", nameof(From));
        if (EntityId is not null && EntityPrefix is not null)
            throw new ArgumentException("give EntityId or EntityPrefix, not both");
        if (EventValidation.CheckFilter(Filter) is { } problem)
            throw new ArgumentException(problem);
        if (Group is not null && EventValidation.CheckGroup(Group) is { } groupProblem)
            throw new ArgumentException(groupProblem, nameof(Group));
    }
}

/// <summary>What a <see cref="SubscriptionNotice"/> reports.</summary>
public enum SubscriptionNoticeKind
{
    /// <summary>Every stored event was read; live events follow (once per subscription).</summary>
    CaughtUp,

    /// <summary>This member reads for its group from <see cref="SubscriptionNotice.Position"/>.</summary>
    GroupActive,

    /// <summary>Another member reads for the group; this one waits as a standby.</summary>
    GroupStandby,

    /// <summary>The group's position was confirmed on leaving.</summary>
    GroupConfirmed,

    /// <summary>
    /// A problem the subscription works around: no answer (it asks again, through another node
    /// if need be), a refusal it retries, the cluster answering again, a last confirmation lost.
    /// </summary>
    Warning,
}

/// <summary>Something that happened to a subscription beside its events.</summary>
public sealed record SubscriptionNotice(SubscriptionNoticeKind Kind, string Message, long Position);
