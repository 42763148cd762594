namespace EventCluster.Messages.Subscriptions;

/// <summary>
/// Asks to become the active subscriber of a group, whose position the cluster keeps in the
/// journal database; answered with <see cref="GroupJoined"/> or <see cref="EventLogRequestRefused"/>.
/// Only one member of a group is active at a time; a request while another holds the group is
/// answered with <see cref="GroupJoined.Held"/> set, and the caller waits as a standby and asks again.
/// </summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Group">The group's name.</param>
/// <param name="Member">The subscriber's own id, unique per run.</param>
/// <param name="From">Where a group without a stored position starts: after this position, or <see cref="ReadEventLog.FromEnd"/>.</param>
public sealed record JoinGroup(string RequestId, string Group, string Member, long From) : IEventClusterMessage
{
    /// <summary>How long a membership lasts without a confirmation; a member confirms at least every second.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(5);
}

/// <summary>The answer to <see cref="JoinGroup"/>.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Group">The group.</param>
/// <param name="Position">The group's position: read after it. Meaningless when <see cref="Held"/>.</param>
/// <param name="Held">True when another member is active; ask again later.</param>
/// <param name="Created">True when the group was new and started at the requested position.</param>
public sealed record GroupJoined(string RequestId, string Group, long Position, bool Held, bool Created) : IEventClusterMessage;

/// <summary>
/// The active member confirms the group's position (everything up to it was handled) and renews
/// its membership; with <see cref="Leave"/> it also steps down. Answered with <see cref="GroupConfirmed"/>.
/// </summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Group">The group.</param>
/// <param name="Member">The member's id.</param>
/// <param name="Position">Everything up to here is handled.</param>
/// <param name="Leave">True to step down after storing the position.</param>
public sealed record ConfirmGroup(string RequestId, string Group, string Member, long Position, bool Leave) : IEventClusterMessage;

/// <summary>The answer to <see cref="ConfirmGroup"/>.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Stored">False when the member is no longer active (its lease ran out and another took over): it must stop.</param>
public sealed record GroupConfirmed(string RequestId, bool Stored) : IEventClusterMessage;

/// <summary>Lists every group; answered with <see cref="GroupList"/>.</summary>
/// <param name="RequestId">Matches the answer to the request.</param>
public sealed record GetGroups(string RequestId) : IEventClusterMessage;

/// <summary>One group.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Position">Its confirmed position.</param>
/// <param name="Lag">Events stored after the position.</param>
/// <param name="Active">True while a member holds it.</param>
/// <param name="UpdatedAt">When it was last confirmed.</param>
public sealed record GroupInfo(string Name, long Position, long Lag, bool Active, DateTimeOffset UpdatedAt);

/// <summary>Every group, by name.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Head">The highest position in the journal.</param>
/// <param name="Groups">The groups.</param>
public sealed record GroupList(string RequestId, long Head, IReadOnlyList<GroupInfo> Groups) : IEventClusterMessage;
