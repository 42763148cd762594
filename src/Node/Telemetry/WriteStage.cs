namespace EventCluster.Node.Telemetry;

/// <summary>
/// The stages of an event's way from the client to its acknowledgement, as the
/// <c>eventcluster_write_stage_seconds</c> histogram's <c>stage</c> label names them. What is left of
/// the client's latency after these is the reply's way back (entity to client) and the client itself.
/// </summary>
public static class WriteStage
{
    /// <summary>From the client sending the event (its wall clock in the command) to the ingress receiving it: client and remoting in.</summary>
    public const string ClientToIngress = "client_to_ingress";

    /// <summary>The ingress checking the event and handing it to the shard region.</summary>
    public const string Ingress = "ingress";

    /// <summary>From the ingress to the entity's mailbox: the shard region and, for another node's entity, remoting.</summary>
    public const string ShardRegion = "shard_region";

    /// <summary>From the entity's mailbox to its Persist call: waiting behind the entity's previous event (stashed) and checking this one.</summary>
    public const string Entity = "entity";

    /// <summary>From the Persist call to the journal taking the write: Akka.Persistence's journal protocol.</summary>
    public const string JournalIn = "journal_in";

    /// <summary>From the journal queueing the write to the writer's transaction starting: waiting for the writer.</summary>
    public const string WriterQueue = "writer_queue";

    /// <summary>The writer's transaction that holds the write, until its commit.</summary>
    public const string WriteCommit = "write_commit";

    /// <summary>From the commit to the entity's persist handler: the journal's answer back to the entity.</summary>
    public const string JournalOut = "journal_out";

    /// <summary>Every stage, in path order.</summary>
    public static readonly IReadOnlyList<string> All = [ClientToIngress, Ingress, ShardRegion, Entity, JournalIn, WriterQueue, WriteCommit, JournalOut];
}
