using System.Text.Json.Serialization;

namespace EventCluster.Messages.Diagnostics;

/// <summary>
/// A round trip through the ingress and Cluster.Sharding to a non-persistent echo entity on the
/// node that hosts <see cref="EntityId"/>'s shard: the same path as an event, without the journal.
/// It measures what plain Akka.NET sharding costs on a cluster (<c>eventcluster load --echo</c>),
/// the baseline for the durable figures. Nothing is stored; no event entity is touched.
/// </summary>
/// <param name="Key">1–128 characters of the entity-id alphabet; the echo entity is <c>~echo-Key</c>.</param>
/// <param name="RequestId">1–128 characters of the same alphabet; matches the reply to the request.</param>
public sealed record EchoRequest(string Key, string RequestId) : IWithEntityId, IEventClusterMessage
{
    /// <summary>Prefix of echo entity ids; '~' is outside the entity-id alphabet, so no event entity has one.</summary>
    public const string EntityPrefix = "~echo-";

    /// <inheritdoc />
    [JsonIgnore]
    public string EntityId => EntityPrefix + Key;

    /// <summary>True for the ids of echo entities.</summary>
    public static bool IsEchoEntity(string entityId) => entityId.StartsWith(EntityPrefix, StringComparison.Ordinal);
}

/// <summary>The echo entity's answer to an <see cref="EchoRequest"/>.</summary>
/// <param name="Key">The request's key.</param>
/// <param name="RequestId">The request's id.</param>
/// <param name="Node">Address of the node hosting the echo entity.</param>
public sealed record EchoReply(string Key, string RequestId, string Node) : IEventClusterMessage;
