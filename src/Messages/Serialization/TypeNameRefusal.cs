using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace EventCluster.Messages.Serialization;

/// <summary>
/// Takes the place of Akka's default JSON serializer (identifier 1, Newtonsoft with .NET type
/// names in the payload) on nodes and clients: a payload in that format from the wire names
/// .NET types for the receiver to instantiate, so it is refused, never read. Akka logs the
/// refusal and drops the message; the connection and the node carry on.
/// </summary>
public sealed class TypeNameRefusal(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>
    /// The constructor Akka calls for the "json" serializer slot, which comes with settings of
    /// its own (for the serializer replaced here; they do not apply).
    /// </summary>
    public TypeNameRefusal(ExtendedActorSystem system, Akka.Configuration.Config settings) : this(system)
    {
        _ = settings;
    }

    /// <summary>
    /// HOCON for nodes and clients: the refusal replaces the JSON serializer, and a message of a
    /// type without an explicit binding fails at the sender instead of falling back to it.
    /// </summary>
    public static readonly string Hocon = $$"""
        akka.actor {
          serializers.json = "{{typeof(TypeNameRefusal).FullName}}, {{typeof(TypeNameRefusal).Assembly.GetName().Name}}"
          serialization-identifiers {
            "{{typeof(TypeNameRefusal).FullName}}, {{typeof(TypeNameRefusal).Assembly.GetName().Name}}" = 1
          }
          serialization-settings.allow-unregistered-types = false
          # ClusterClient wraps every request in Distributed Pub/Sub's Send; Akka leaves it unbound,
          # so by default it would travel in the JSON format refused here. Pub/Sub's own
          # serializer knows these wrappers.
          serializers.akka-pubsub = "Akka.Cluster.Tools.PublishSubscribe.Serialization.DistributedPubSubMessageSerializer, Akka.Cluster.Tools"
          serialization-identifiers {
            "Akka.Cluster.Tools.PublishSubscribe.Serialization.DistributedPubSubMessageSerializer, Akka.Cluster.Tools" = 9
          }
          serialization-bindings {
            "Akka.Cluster.Tools.PublishSubscribe.Send, Akka.Cluster.Tools" = akka-pubsub
            "Akka.Cluster.Tools.PublishSubscribe.SendToAll, Akka.Cluster.Tools" = akka-pubsub
            "Akka.Cluster.Tools.PublishSubscribe.Publish, Akka.Cluster.Tools" = akka-pubsub
          }
        }
        """;

    /// <inheritdoc />
    public override bool IncludeManifest => false;

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) =>
        throw new SerializationException(
            $"{obj.GetType().FullName} has no serializer binding; EventCluster sends only its own contracts");

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException(
            $"refused a {bytes.Length}-byte message in Akka's JSON format: it names .NET types to instantiate, " +
            "which EventCluster never accepts from the wire");
}
