namespace EventCluster.Messages.Subscriptions;

/// <summary>
/// Reads the global event log after a position, for a subscription; answered with
/// <see cref="EventLogPage"/> (or <see cref="EventLogRequestRefused"/>). A reader that keeps asking
/// with the page's <see cref="EventLogPage.Through"/> sees every matching event once, in position order.
/// </summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="After">Events with a position above this one; <see cref="FromEnd"/> for "from the current end".</param>
/// <param name="Filter">Which events to return.</param>
/// <param name="MaxEvents">Events per page at most (1 to 1,000).</param>
/// <param name="WaitMilliseconds">
/// When nothing matches yet, how long the node may hold the request until a new event does
/// (a long poll, answered the moment one is committed); 0 answers at once.
/// </param>
public sealed record ReadEventLog(string RequestId, long After, EventFilter Filter, int MaxEvents, int WaitMilliseconds) : IEventClusterMessage
{
    /// <summary>The <see cref="After"/> that means "from the current end": the page only carries the end position.</summary>
    public const long FromEnd = -1;

    /// <summary>Largest page a node answers.</summary>
    public const int MaxPage = 1000;

    /// <summary>Longest long poll a node grants.</summary>
    public const int MaxWaitMilliseconds = 30_000;
}

/// <summary>
/// A page of the event log: the matching events with positions in (<c>After</c>, <see cref="Through"/>],
/// in position order. No other matching event exists in that range, now or later.
/// </summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Events">The matching events.</param>
/// <param name="Through">The position the reader has now seen everything up to; ask after it next.</param>
/// <param name="Head">The highest position the node knew of when it answered.</param>
public sealed record EventLogPage(string RequestId, IReadOnlyList<EventRecord> Events, long Through, long Head) : IEventClusterMessage
{
    /// <summary>True when the page reaches the end of the log as the node knew it.</summary>
    public bool CaughtUp => Through >= Head;
}

/// <summary>Reads a page of one entity's events in version order; answered with <see cref="EntityHistoryResult"/>.</summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="EntityId">The entity.</param>
/// <param name="FromVersion">The first version to return (1 for the first event).</param>
/// <param name="Limit">Events at most (1 to <see cref="MaxLimit"/>).</param>
public sealed record GetEntityHistory(string RequestId, string EntityId, long FromVersion, int Limit) : IEventClusterMessage
{
    /// <summary>The page size when none is given.</summary>
    public const int DefaultLimit = 100;

    /// <summary>The largest page.</summary>
    public const int MaxLimit = 1000;
}

/// <summary>A page of an entity's history.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="EntityId">The entity.</param>
/// <param name="Exists">False when the entity never applied an event.</param>
/// <param name="Events">Its events from the requested version, in version order.</param>
/// <param name="Version">The entity's highest version in the journal.</param>
public sealed record EntityHistoryResult(string RequestId, string EntityId, bool Exists, IReadOnlyList<EventRecord> Events, long Version)
    : IEventClusterMessage;

/// <summary>
/// A request to the event log was refused: a read of the log or of an entity's history, or a
/// group's join, confirmation or listing. The cause is bad input, or a journal that could not be read.
/// </summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Reason">What is wrong.</param>
/// <param name="Retryable">True when the same request may succeed later (the database is down); false for bad input.</param>
public sealed record EventLogRequestRefused(string RequestId, string Reason, bool Retryable) : IEventClusterMessage;

/// <summary>
/// Published by a node after each journal commit, to every node: readers waiting for new events
/// read them now instead of at their next poll.
/// </summary>
/// <param name="Position">The highest position of the commit.</param>
public sealed record EventsCommitted(long Position) : IEventClusterMessage
{
    /// <summary>The distributed pub/sub topic the notices go to.</summary>
    public const string Topic = "eventcluster-events-committed";
}

/// <summary>
/// Asks a node's event-log reader to answer once it has read the log through <see cref="Position"/>
/// (an erase notice's): from then on it serves none of the erased entity's data from memory.
/// Answered with <see cref="LogPositionReached"/>.
/// </summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="Position">The position to have read through.</param>
public sealed record AwaitLogPosition(string RequestId, long Position) : IEventClusterMessage;

/// <summary>The node's event-log reader has read the log through the position of <see cref="AwaitLogPosition"/>.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Head">The position it has read through.</param>
public sealed record LogPositionReached(string RequestId, long Head) : IEventClusterMessage;

/// <summary>
/// Published by the node that turned single events into tombstones (retention), to every node:
/// readers drop those events' data from memory.
/// </summary>
/// <param name="Positions">The positions of the events erased.</param>
public sealed record EventsErased(IReadOnlyList<long> Positions) : IEventClusterMessage
{
    /// <summary>The distributed pub/sub topic the notices go to.</summary>
    public const string Topic = "eventcluster-events-erased";
}
