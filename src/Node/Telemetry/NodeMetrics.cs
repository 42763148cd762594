using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.DependencyInjection;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Cluster;

namespace EventCluster.Node.Telemetry;

/// <summary>
/// The node's figures as <see cref="System.Diagnostics.Metrics"/> instruments on a <see cref="Meter"/>
/// of its own: what its entities accepted, recognised as duplicates and rejected, how long persisting
/// took, how many entities are alive, the cluster as the node sees it and the webhook subscriptions.
/// They belong to the node's actor system (an Akka extension), so several nodes in one process each
/// count their own; entity passivation reads its active-entity count.
/// </summary>
/// <remarks>
/// Instrument names are the exposed Prometheus names less the suffixes the exporter adds
/// (<c>_total</c> for counters, <c>_seconds</c> for the unit <c>s</c>), so that
/// <c>/metrics</c> keeps the names it has always had.
/// </remarks>
public sealed class NodeMetrics : IExtension, IDisposable
{
    /// <summary>The meter's name: what a metrics pipeline subscribes to.</summary>
    public const string MeterName = "EventCluster.Node";

    /// <summary>Upper bounds (seconds) of the write-stage histogram buckets: fine enough to tell 50 µs from 250 µs.</summary>
    public static readonly IReadOnlyList<double> StageBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Upper bounds (seconds) of the persist-latency histogram buckets.</summary>
    public static readonly IReadOnlyList<double> PersistBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ActorSystem _system;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _persistLatency;
    private readonly Histogram<double> _writeStages;

    // The moment each entity handed its event to Akka.Persistence, until the journal takes the
    // write (the journal-in stage): an entity persists one event at a time, so one entry each.
    private readonly ConcurrentDictionary<string, long> _persistCalls = new(StringComparer.Ordinal);
    private long _accepted;
    private long _duplicates;
    private long _rejected;
    private long _activeEntities;
    private long _entityStarts;
    private long _passivations;
    private long _replayedEvents;
    private long _persistCount;
    private long _persistMicros;
    private volatile IReadOnlyList<WebhookInfo> _webhooks = [];

    private NodeMetrics(ExtendedActorSystem system)
    {
        _system = system;
        // The host's meter factory scopes the meter to this node's services, which is how the
        // node's metrics pipeline tells its own instruments from another in-process node's.
        var factory = system.Settings.Setup.Get<DependencyResolverSetup>().HasValue
            ? DependencyResolver.For(system).Resolver.GetService<IMeterFactory>()
            : null;
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);

        _meter.CreateObservableCounter("eventcluster_events_accepted", () => Interlocked.Read(ref _accepted),
            description: "Events persisted and acknowledged by entities on this node.");
        _meter.CreateObservableCounter("eventcluster_events_duplicate", () => Interlocked.Read(ref _duplicates),
            description: "Repeated event ids acknowledged as duplicates on this node.");
        _meter.CreateObservableCounter("eventcluster_events_rejected", () => Interlocked.Read(ref _rejected),
            description: "Events rejected by this node (invalid, or over an entity's data cap).");
        _persistLatency = _meter.CreateHistogram("eventcluster_persist_latency", "s",
            "Time from an entity receiving an event to its journal write completing.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PersistBuckets });
        _writeStages = _meter.CreateHistogram("eventcluster_write_stage", "s",
            "Time an event spends in each stage of the write path (label stage, in path order: " + string.Join(", ", WriteStage.All) + ").",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageBuckets });
        _meter.CreateObservableGauge("eventcluster_active_entities", () => Interlocked.Read(ref _activeEntities),
            description: "Entity actors alive on this node.");
        _meter.CreateObservableCounter("eventcluster_entity_starts", () => Interlocked.Read(ref _entityStarts),
            description: "Entity actors started on this node; each recovers its state from its snapshot and the journal.");
        _meter.CreateObservableCounter("eventcluster_entity_passivations", () => Interlocked.Read(ref _passivations),
            description: "Entities this node stopped after a short idle time because it held more than its active-entity limit; each recovers again on its next event.");
        _meter.CreateObservableCounter("eventcluster_entity_replayed_events", () => Interlocked.Read(ref _replayedEvents),
            description: "Journal events replayed by entities recovering on this node.");
        _meter.CreateObservableGauge("eventcluster_shards", () => ShardsByNode()
                .Select(pair => new Measurement<int>(pair.Value, new KeyValuePair<string, object?>("node", pair.Key))),
            description: "Shards hosted per node, as this node sees the cluster.");
        _meter.CreateObservableGauge("eventcluster_members", () => MembersByStatus()
                .Select(pair => new Measurement<int>(pair.Value, new KeyValuePair<string, object?>("status", pair.Key))),
            description: "Cluster members per status, as this node sees the cluster.");

        _meter.CreateObservableGauge("eventcluster_webhook_position", () => PerSubscription(w => w.Position),
            description: "Position below which every matching event was delivered or parked.");
        _meter.CreateObservableGauge("eventcluster_webhook_lag", () => PerSubscription(w => w.Lag),
            description: "Events stored after the subscription's position.");
        _meter.CreateObservableCounter("eventcluster_webhook_delivered", () => PerSubscription(w => w.Delivered),
            description: "Events delivered with a 2xx answer.");
        _meter.CreateObservableCounter("eventcluster_webhook_retries", () => PerSubscription(w => w.Retries),
            description: "Delivery attempts that failed and were retried.");
        _meter.CreateObservableGauge("eventcluster_webhook_parked", () => PerSubscription(w => w.Parked),
            description: "Events parked now.");

        system.RegisterOnTermination(Dispose);
    }

    /// <summary>The figures of <paramref name="system"/>'s node.</summary>
    public static NodeMetrics Of(ActorSystem system) => system.WithExtension<NodeMetrics, Provider>();

    /// <summary>Events persisted and acknowledged so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Repeated event ids acknowledged as duplicates so far.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Events rejected so far.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Entity actors alive in this process.</summary>
    public long ActiveEntities => Interlocked.Read(ref _activeEntities);

    /// <summary>Entity actors started in this process.</summary>
    public long EntityStarts => Interlocked.Read(ref _entityStarts);

    /// <summary>Entities stopped early for being idle while the node was over its active-entity limit.</summary>
    public long Passivations => Interlocked.Read(ref _passivations);

    /// <summary>Journal events replayed by recovering entities.</summary>
    public long ReplayedEvents => Interlocked.Read(ref _replayedEvents);

    /// <summary>Events whose persist time was recorded.</summary>
    public long PersistCount => Interlocked.Read(ref _persistCount);

    /// <summary>The sum of the recorded persist times.</summary>
    public TimeSpan PersistTotal => TimeSpan.FromMicroseconds(Interlocked.Read(ref _persistMicros));

    /// <summary>The webhook subscriptions' figures as last read (<see cref="WebhooksRead"/>).</summary>
    public IReadOnlyList<WebhookInfo> Webhooks => _webhooks;

    /// <summary>An event was persisted and acknowledged after <paramref name="persistTime"/>.</summary>
    public void EventAccepted(TimeSpan persistTime)
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _persistCount);
        Interlocked.Add(ref _persistMicros, (long)(persistTime.TotalSeconds * 1_000_000));
        _persistLatency.Record(persistTime.TotalSeconds);
    }

    /// <summary>An event spent <paramref name="elapsed"/> in <paramref name="stage"/> (one of <see cref="WriteStage"/>).</summary>
    public void StageTime(string stage, TimeSpan elapsed) =>
        _writeStages.Record(Math.Max(0, elapsed.TotalSeconds), new KeyValuePair<string, object?>("stage", stage));

    /// <summary>An event spent the time since the <see cref="Stopwatch"/> timestamp <paramref name="since"/> in <paramref name="stage"/>.</summary>
    public void StageSince(string stage, long since) => StageTime(stage, Stopwatch.GetElapsedTime(since));

    /// <summary>
    /// An event spent the time since another process's wall clock read <paramref name="sentAtMicros"/>
    /// (<see cref="SubmitEvent.WallClockMicros"/>) in <paramref name="stage"/>; nothing when it was not stamped.
    /// Across hosts this includes their clocks' offset; a negative time counts as 0.
    /// </summary>
    public void StageSinceWallClock(string stage, long? sentAtMicros)
    {
        if (sentAtMicros is { } sent)
            StageTime(stage, TimeSpan.FromMicroseconds(SubmitEvent.WallClockMicros() - sent));
    }

    /// <summary>The entity of <paramref name="persistenceId"/> called Persist for one event now.</summary>
    public void PersistCalled(string persistenceId) => _persistCalls[persistenceId] = Stopwatch.GetTimestamp();

    /// <summary>The journal took a write of <paramref name="persistenceId"/>: the journal-in stage ends, if the entity had started it.</summary>
    public void JournalTook(string persistenceId)
    {
        if (!_persistCalls.IsEmpty && _persistCalls.TryRemove(persistenceId, out var called))
            StageSince(WriteStage.JournalIn, called);
    }

    /// <summary>A repeated event id was acknowledged as a duplicate.</summary>
    public void EventDuplicate() => Interlocked.Increment(ref _duplicates);

    /// <summary>An event was rejected (invalid, or its entity's data would outgrow the cap).</summary>
    public void EventRejected() => Interlocked.Increment(ref _rejected);

    /// <summary>An entity actor started.</summary>
    public void EntityStarted()
    {
        Interlocked.Increment(ref _activeEntities);
        Interlocked.Increment(ref _entityStarts);
    }

    /// <summary>An idle entity asked to be stopped early, the node being over its active-entity limit.</summary>
    public void EntityPassivated() => Interlocked.Increment(ref _passivations);

    /// <summary>A recovering entity replayed one journal event.</summary>
    public void EventReplayed() => Interlocked.Increment(ref _replayedEvents);

    /// <summary>An entity actor stopped.</summary>
    public void EntityStopped() => Interlocked.Decrement(ref _activeEntities);

    /// <summary>
    /// The webhook subscriptions' figures were read from the journal database. They are read
    /// before each scrape (an asynchronous query the instruments' callbacks cannot make).
    /// </summary>
    public void WebhooksRead(IReadOnlyList<WebhookInfo> webhooks) => _webhooks = webhooks;

    /// <summary>Shards hosted per node (host:port), as this node last saw the distribution.</summary>
    public IReadOnlyDictionary<string, int> ShardsByNode() =>
        ShardDistributionReporter.LatestOf(_system)?.ByNode
            .ToDictionary(node => AddressFormat.Short(node.Key), node => node.Value.Count, StringComparer.Ordinal)
        ?? new Dictionary<string, int>();

    /// <summary>Cluster members per status, as this node sees the cluster.</summary>
    public IReadOnlyDictionary<string, int> MembersByStatus() =>
        Akka.Cluster.Cluster.Get(_system).State.Members
            .GroupBy(member => member.Status.ToString())
            .ToDictionary(group => group.Key, group => group.Count(), StringComparer.Ordinal);

    /// <inheritdoc />
    public void Dispose()
    {
        // A meter from the host's factory is the factory's to dispose.
        if (_ownsMeter)
            _meter.Dispose();
    }

    private IEnumerable<Measurement<long>> PerSubscription(Func<WebhookInfo, long> value) =>
        _webhooks.Select(webhook => new Measurement<long>(value(webhook), new KeyValuePair<string, object?>("subscription", webhook.Name)));

    private sealed class Provider : ExtensionIdProvider<NodeMetrics>
    {
        public override NodeMetrics CreateExtension(ExtendedActorSystem system) => new(system);
    }
}
