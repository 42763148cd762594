using System.Runtime.Serialization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using EventCluster.Messages.Cluster;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;

namespace EventCluster.Messages.Serialization;

/// <summary>
/// The one serializer for every EventCluster contract, on the wire and in the journal.
/// Each type has a short, fixed manifest; a manifest it does not know is refused, so nobody who
/// reaches the remoting port can make a node instantiate a type of their choosing.
/// </summary>
public sealed class EventClusterSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>Serializer id, unique within the actor system (Akka reserves 0–100).</summary>
    public const int SerializerId = 7401;

    /// <summary>HOCON that registers this serializer and binds it to <see cref="IEventClusterMessage"/>.</summary>
    public static readonly string Binding = $$"""
        akka.actor {
          serializers.eventcluster = "{{QualifiedName(typeof(EventClusterSerializer))}}"
          serialization-bindings {
            "{{QualifiedName(typeof(IEventClusterMessage))}}" = eventcluster
          }
        }
        """;

    /// <summary>The manifest of <see cref="EventApplied"/>, the entity event in the journal.</summary>
    public const string EventAppliedManifest = "EV";

    internal static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // Payloads are never embedded in HTML; escaping non-ASCII would only inflate them.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly IReadOnlyDictionary<Type, string> ManifestsByType = new Dictionary<Type, string>
    {
        [typeof(SubmitEvent)] = "SE",
        [typeof(SubmitEventBatch)] = "SB",
        [typeof(SubmitEntityEvents)] = "SM",
        [typeof(EventBatchResult)] = "EB",
        [typeof(EntityEventsResult)] = "EM",
        [typeof(StopEntity)] = "SX",
        [typeof(NodeLeaving)] = "NL",
        [typeof(EventAccepted)] = "EA",
        [typeof(EventRejected)] = "ER",
        [typeof(EventNotStored)] = "EN",
        [typeof(QueryRejected)] = "QR",
        [typeof(GetEntityState)] = "GS",
        [typeof(EntityStateResult)] = "RS",
        [typeof(GetEntityJournal)] = "GJ",
        [typeof(EntityJournalResult)] = "RJ",
        [typeof(GetClusterStatus)] = "GC",
        [typeof(ClusterStatusResult)] = "RC",
        [typeof(EventApplied)] = EventAppliedManifest,
        [typeof(EntitySnapshot)] = "SN",
        [typeof(EchoRequest)] = "XQ",
        [typeof(EchoReply)] = "XR",
        [typeof(ReadEventLog)] = "LR",
        [typeof(EventLogPage)] = "LP",
        [typeof(GetEntityHistory)] = "HQ",
        [typeof(EntityHistoryResult)] = "HR",
        [typeof(EventLogRequestRefused)] = "LX",
        [typeof(EventsCommitted)] = "LC",
        [typeof(JoinGroup)] = "GJN",
        [typeof(GroupJoined)] = "GJD",
        [typeof(ConfirmGroup)] = "GCF",
        [typeof(GroupConfirmed)] = "GCD",
        [typeof(GetGroups)] = "GLQ",
        [typeof(GroupList)] = "GLR",
        [typeof(AddWebhook)] = "WA",
        [typeof(GetWebhooks)] = "WG",
        [typeof(RemoveWebhook)] = "WR",
        [typeof(ReplayParked)] = "WP",
        [typeof(WebhookAnswer)] = "WX",
        [typeof(WebhooksChanged)] = "WC",
        [typeof(EraseEntity)] = "EE",
        [typeof(EraseResult)] = "EX",
        [typeof(AwaitLogPosition)] = "LW",
        [typeof(LogPositionReached)] = "LWR",
        [typeof(EventsErased)] = "LE",
    };

    private static readonly IReadOnlyDictionary<string, Type> TypesByManifest =
        ManifestsByType.ToDictionary(pair => pair.Value, pair => pair.Key);

    /// <summary>Every contract type the serializer knows.</summary>
    public static IEnumerable<Type> KnownTypes => ManifestsByType.Keys;

    private static string QualifiedName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) =>
        ManifestsByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"EventCluster serializer does not know type {o.GetType().Name}");

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        _ = Manifest(obj);
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!TypesByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"EventCluster serializer refuses unknown manifest '{manifest}'");

        return JsonSerializer.Deserialize(bytes, type, Options)
               ?? throw new SerializationException($"Empty payload for manifest '{manifest}'");
    }
}
