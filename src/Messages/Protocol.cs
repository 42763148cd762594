namespace EventCluster.Messages;

/// <summary>
/// Marker for every message EventCluster sends over the wire or writes to the journal.
/// The one serializer of <see cref="Serialization.EventClusterSerializer"/> is bound to it,
/// so no contract ever falls back to a type-name serializer.
/// </summary>
public interface IEventClusterMessage;

/// <summary>A message addressed to one entity; sharding routes it by <see cref="EntityId"/>.</summary>
public interface IWithEntityId
{
    /// <summary>The id of the entity the message is for.</summary>
    string EntityId { get; }
}

/// <summary>Names nodes and clients must agree on.</summary>
public static class ClusterNames
{
    /// <summary>The actor system of every node of a cluster.</summary>
    public const string SystemName = "eventcluster";

    /// <summary>The actor system of a client; it never joins the cluster.</summary>
    public const string ClientSystemName = "eventcluster-client";

    /// <summary>Name of the ingress actor on every node, the one actor clients address.</summary>
    public const string IngressName = "ingress";

    /// <summary>Path of the ingress actor on every node.</summary>
    public const string IngressPath = "/user/" + IngressName;

    /// <summary>The Akka.Remote protocol of addresses: TLS changes it from akka.tcp to akka.ssl.tcp.</summary>
    public static string Protocol(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";
}
