namespace EventCluster.Messages.Commands;

/// <summary>
/// Erases an entity: its events become tombstones in the journal (their positions stay), its
/// snapshots are deleted, its state is dropped, and an erase notice is appended to the global
/// log. The entity takes no events afterwards. Needs a token with the admin scope when the nodes
/// have tokens. Answered with <see cref="EraseResult"/>; running it again on an erased entity
/// finishes whatever an interrupted run left and changes nothing else.
/// </summary>
/// <param name="RequestId">Matches the answer to the request.</param>
/// <param name="EntityId">The entity to erase.</param>
/// <param name="Token">The caller's API token, when the nodes have tokens.</param>
public sealed record EraseEntity(string RequestId, string EntityId, string? Token = null) : IWithEntityId, IEventClusterMessage;

/// <summary>What became of an <see cref="EraseEntity"/>, in HTTP terms.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="EntityId">The entity.</param>
/// <param name="Status">200 erased (or already erased), 400 bad request, 401/403 token, 404 no such entity, 503 the journal could not do it now.</param>
/// <param name="Reason">Why it was refused or failed; null on success.</param>
/// <param name="ErasedEvents">Events turned into tombstones by this request (0 when it was erased before).</param>
/// <param name="Version">The entity's last version: that of its erase notice.</param>
/// <param name="Position">The global position of its erase notice.</param>
/// <param name="AlreadyErased">True when the entity had been erased before this request.</param>
public sealed record EraseResult(string RequestId, string EntityId, int Status, string? Reason, long ErasedEvents = 0, long Version = 0,
    long Position = 0, bool AlreadyErased = false) : IEventClusterMessage
{
    /// <summary>True for a completed erase.</summary>
    public bool Succeeded => Status is >= 200 and < 300;
}
