using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Persistence.Journal;
using Akka.Serialization;

namespace EventCluster.Tests.Unit;

/// <summary>A payload whose serializer needs the transport information a journal must set.</summary>
public sealed record TransportProbe(string Text);

/// <summary>What <see cref="NoteAdapter"/> stores in place of a <see cref="Note"/>.</summary>
public sealed record StoredNote(string Text);

/// <summary>An event that reaches the journal only through <see cref="NoteAdapter"/>.</summary>
public sealed record Note(string Text);

/// <summary>
/// Serializes the spec payloads, and fails like a serializer of actor references does when the
/// journal did not set the transport information (Akka's <c>Serialization.WithTransport</c>).
/// </summary>
public sealed class TransportCheckingSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    /// <summary>HOCON that binds the spec payloads to this serializer.</summary>
    public const string Binding = """
        akka.actor {
          serializers.transport-check = "EventCluster.Tests.Unit.TransportCheckingSerializer, EventCluster.Tests"
          serialization-bindings {
            "EventCluster.Tests.Unit.TransportProbe, EventCluster.Tests" = transport-check
            "EventCluster.Tests.Unit.StoredNote, EventCluster.Tests" = transport-check
          }
        }
        """;

    /// <inheritdoc />
    public override int Identifier => 7499;

    /// <inheritdoc />
    public override string Manifest(object o) => o is TransportProbe ? "TP" : "SN";

    /// <inheritdoc />
    public override byte[] ToBinary(object obj)
    {
        Serialization.GetCurrentTransportInformation();
        return Encoding.UTF8.GetBytes(obj is TransportProbe probe ? probe.Text : ((StoredNote)obj).Text);
    }

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        Serialization.GetCurrentTransportInformation();
        var text = Encoding.UTF8.GetString(bytes);
        return manifest == "TP" ? new TransportProbe(text) : new StoredNote(text);
    }
}

/// <summary>Stores a <see cref="Note"/> upper-cased, tagged and with a manifest of its own; reads it back lower-cased.</summary>
public sealed class NoteAdapter : IEventAdapter
{
    /// <summary>The adapter's manifest for a stored note.</summary>
    public const string NoteManifest = "note-v1";

    /// <inheritdoc />
    public string Manifest(object evt) => NoteManifest;

    /// <inheritdoc />
    public object ToJournal(object evt) =>
        new Akka.Persistence.Journal.Tagged(new StoredNote(((Note)evt).Text.ToUpperInvariant()), ImmutableHashSet.Create("notes"));

    /// <inheritdoc />
    public IEventSequence FromJournal(object evt, string manifest) =>
        manifest == NoteManifest && evt is StoredNote stored ? EventSequence.Single(new Note(stored.Text.ToLowerInvariant())) : EventSequence.Empty;
}
