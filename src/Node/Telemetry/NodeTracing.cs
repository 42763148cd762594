using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;

namespace EventCluster.Node.Telemetry;

/// <summary>
/// The node's spans: the ingress handling an event, the entity persisting it and the journal
/// writing it, each the child of the one before, under the HTTP request's span. The trace context
/// crosses actors and nodes inside <see cref="Messages.Commands.SubmitEvent.TraceParent"/>, and
/// reaches the journal's writer thread through <see cref="ExpectWrite"/>. Without a listener
/// (no <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) no span is created and nothing is remembered.
/// </summary>
public sealed class NodeTracing : IExtension, IDisposable
{
    /// <summary>The activity source's name: what a tracing pipeline subscribes to.</summary>
    public const string SourceName = "EventCluster.Node";

    /// <summary>The ingress validating an event and routing it to its entity.</summary>
    public const string IngressSpan = "eventcluster.ingress";

    /// <summary>The entity from receiving an event to its acknowledgement.</summary>
    public const string EntitySpan = "eventcluster.entity.persist";

    /// <summary>The journal writer's transaction that stored the event.</summary>
    public const string JournalWriteSpan = "eventcluster.journal.write";

    private readonly ActivitySource _source = new(SourceName);

    // The entity's span per persistence id, from its Persist call until the journal takes the
    // write: an entity persists one event at a time, so one entry each is enough.
    private readonly ConcurrentDictionary<string, ActivityContext> _expectedWrites = new(StringComparer.Ordinal);

    private NodeTracing(ActorSystem system) => system.RegisterOnTermination(Dispose);

    /// <summary>The spans of <paramref name="system"/>'s node.</summary>
    public static NodeTracing Of(ActorSystem system) => system.WithExtension<NodeTracing, Provider>();

    /// <summary>True when a tracing pipeline listens; without one nothing is worth preparing.</summary>
    public bool Enabled => _source.HasListeners();

    /// <summary>
    /// Starts a span whose parent is the W3C <paramref name="traceParent"/> (a new trace without
    /// one), or null when nobody listens. The span does not become the thread's current activity:
    /// actors share dispatcher threads, and the next message on this thread is not part of it.
    /// </summary>
    public Activity? Start(string name, string? traceParent, ActivityKind kind = ActivityKind.Internal)
    {
        if (!_source.HasListeners())
            return null;
        ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent);
        return StartDetached(name, kind, parent, default);
    }

    /// <summary>A span under <paramref name="parent"/> that began at <paramref name="startedAt"/>; null when nobody listens.</summary>
    public Activity? Start(string name, ActivityContext parent, DateTimeOffset startedAt) =>
        _source.HasListeners() ? StartDetached(name, ActivityKind.Internal, parent, startedAt) : null;

    /// <summary>Ends <paramref name="activity"/>, leaving the thread's current activity as it was.</summary>
    public static void Stop(Activity? activity, string? error = null)
    {
        if (activity is null)
            return;
        if (error is not null)
            activity.SetStatus(ActivityStatusCode.Error, error);
        var current = Activity.Current;
        activity.Stop();
        Activity.Current = current == activity ? null : current;
    }

    /// <summary>The entity's span <paramref name="context"/> is the parent of its next journal write.</summary>
    public void ExpectWrite(string persistenceId, ActivityContext context) => _expectedWrites[persistenceId] = context;

    /// <summary>The parent of a journal write of <paramref name="persistenceId"/>; default when none was expected.</summary>
    public ActivityContext TakeWrite(string persistenceId) =>
        !_expectedWrites.IsEmpty && _expectedWrites.TryRemove(persistenceId, out var context) ? context : default;

    /// <inheritdoc />
    public void Dispose() => _source.Dispose();

    private Activity? StartDetached(string name, ActivityKind kind, ActivityContext parent, DateTimeOffset startedAt)
    {
        var current = Activity.Current;
        var activity = _source.StartActivity(name, kind, parent, startTime: startedAt);
        Activity.Current = current;
        return activity;
    }

    private sealed class Provider : ExtensionIdProvider<NodeTracing>
    {
        public override NodeTracing CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
