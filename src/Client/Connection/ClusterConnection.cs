using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Cluster.Tools.Client;
using Akka.Configuration;
using EventCluster.Messages;
using EventCluster.Messages.Cluster;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;
using EventCluster.Messages.Security;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Sharding;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Client.Connection;

/// <summary>
/// The client's link to a cluster: a small, non-member actor system whose ClusterClient reaches
/// the receptionist of any live seed node. All requests go out through one actor, so the cluster
/// keeps one response tunnel for the client instead of one per request; replies are matched to
/// waiting callers by entity and event id.
/// </summary>
/// <remarks>
/// For bulk traffic the connection can also learn the shard placement (<see cref="RefreshPlacementAsync"/>)
/// and send an event straight to the ingress of the node hosting its shard: two network hops
/// instead of four. That node's shard region still routes the event, so a stale placement costs
/// only an extra hop, and every retry goes through the seed contact again.
/// </remarks>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly IActorRef _requester;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<object>> _pending = new(StringComparer.Ordinal);
    private readonly EntityMessageExtractor _extractor = new();
    private IReadOnlyDictionary<string, IActorRef> _ingressByShard = new Dictionary<string, IActorRef>();
    private BatchReaders _batchReaders = BatchReaders.Unknown;

    private ClusterConnection(IReadOnlyList<string> seeds, X509Certificate2? certificate)
    {
        Seeds = seeds;
        var config = ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = OFF
              stdout-loglevel = OFF
              actor.provider = remote
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
              remote.log-remote-lifecycle-events = off
              cluster.client {
                # Ask every seed for contacts quickly, so a dead first seed costs a second, not ten.
                establishing-get-contacts-interval = 1s
                refresh-contacts-interval = 10s
                # Requests wait here while no receptionist is reached yet; the load generator
                # keeps at most its concurrency in flight, far below this.
                buffer-size = 10000
                reconnect-timeout = off
                # Notice within a few seconds that the node relaying requests died (a crash takes
                # its receptionist with it) and move to another one; the default 13s would leave
                # every retry of that window going to a dead node.
                heartbeat-interval = 1s
                acceptable-heartbeat-pause = 3s
              }
            }
            """)
            .WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding))
            .WithFallback(ConfigurationFactory.ParseString(TypeNameRefusal.Hocon))
            .WithFallback(LoadRemoteTuning())
            .WithFallback(ClusterClientReceptionist.DefaultConfig());
        if (certificate is not null)
            config = ConfigurationFactory.ParseString(RemoteTls.Hocon).WithFallback(config);
        var setup = Akka.Actor.Setup.ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config));
        if (certificate is not null)
            setup = setup.And(RemoteTls.Setup(certificate));
        _system = ActorSystem.Create(ClusterNames.ClientSystemName, setup);

        var contacts = seeds.Select(seed => ActorPath.Parse($"{ClusterNames.Protocol(certificate is not null)}://{ClusterNames.SystemName}@{seed}/system/receptionist"))
            .ToImmutableHashSet();
        var client = _system.ActorOf(ClusterClient.Props(ClusterClientSettings.Create(_system).WithInitialContacts(contacts)),
            "cluster-client");
        _requester = _system.ActorOf(Props.Create(() => new Requester(client, _pending)), "requester");
    }

    /// <summary>True when every shard's node is known (a new cluster allocates shards as entities are first used).</summary>
    public bool PlacementComplete => _ingressByShard.Count == EntityMessageExtractor.ShardCount;

    public IReadOnlyList<string> Seeds { get; }

    /// <summary>
    /// Starts the connection; the first request waits until a seed answers. With
    /// <paramref name="certificate"/> the connection uses TLS with mutual authentication and
    /// presents that certificate (the nodes' own); without it, plain TCP.
    /// </summary>
    public static ClusterConnection Connect(IReadOnlyList<string> seeds, X509Certificate2? certificate = null) => new(seeds, certificate);

    /// <summary>
    /// Submits one event and waits up to <paramref name="timeout"/> for its reply; with
    /// <paramref name="direct"/>, to the node hosting its shard when the placement is known.
    /// </summary>
    public async Task<object> SubmitAsync(SubmitEvent command, TimeSpan timeout, bool direct = false)
    {
        var target = direct ? _ingressByShard.GetValueOrDefault(_extractor.ShardId(command.EntityId, command)) : null;
        return await RequestAsync(RequestKeys.Event(command.EntityId, command.EventId), command, timeout, target);
    }

    /// <summary>
    /// Sends the event until it is accepted or rejected, resending the same event id after every
    /// attempt that got no answer within <paramref name="attemptTimeout"/>; null when
    /// <paramref name="total"/> ran out first. With <paramref name="notStoredDelay"/> an event the
    /// journal could not store is sent again too after that pause, and the last such answer is
    /// returned when time runs out; without it, that answer is returned at once. With
    /// <paramref name="directFirst"/> the first attempt goes straight to the node hosting the
    /// entity's shard; retries always go through the seed contact.
    /// </summary>
    public async Task<object?> SubmitWithRetriesAsync(SubmitEvent command, TimeSpan total, TimeSpan attemptTimeout,
        TimeSpan? notStoredDelay, Action? onRetry, bool directFirst = false, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + total;
        object? lastNotStored = null;
        for (var attempt = 0; ; attempt++)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                return lastNotStored;
            try
            {
                // Each attempt carries its send time: the node's figures measure the way in from it.
                var reply = await SubmitAsync(command with { SentAt = SubmitEvent.WallClockMicros() }, left < attemptTimeout ? left : attemptTimeout,
                        direct: directFirst && attempt == 0)
                    .WaitAsync(cancellationToken);
                if (reply is not EventNotStored || notStoredDelay is not { } delay)
                    return reply;
                lastNotStored = reply;
                left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    return reply;
                onRetry?.Invoke();
                await Task.Delay(left < delay ? left : delay, cancellationToken);
            }
            catch (TimeoutException)
            {
                if (deadline - DateTime.UtcNow > TimeSpan.Zero)
                    onRetry?.Invoke();
            }
        }
    }

    /// <summary>The ingress of the node hosting the entity's shard, when the placement is known; null otherwise.</summary>
    public IActorRef? IngressOf(string entityId) => _ingressByShard.GetValueOrDefault(_extractor.ShardId(entityId, null!));

    /// <summary>
    /// Where a batch with events of <paramref name="entityId"/> goes, as the last placement knew the
    /// cluster: the ingress of the node hosting the entity when that node reads batches
    /// (<see cref="WireFeatures.Batches"/>), else the ingress of another node that does (it sends
    /// the events on one by one while any member cannot read batches), else null: through the
    /// seed contact when the placement is not known, one event at a time when
    /// <see cref="NoMemberReadsBatches"/>.
    /// </summary>
    public IActorRef? BatchTargetOf(string entityId)
    {
        var readers = _batchReaders;
        if (IngressOf(entityId) is { } host && readers.Ingresses.Contains(host))
            return host;
        return readers.Ingresses.Count == 0
            ? null
            : readers.Ingresses[(int)((uint)StringComparer.Ordinal.GetHashCode(entityId) % (uint)readers.Ingresses.Count)];
    }

    /// <summary>True when the last placement showed that every member reads batches.</summary>
    public bool EveryMemberReadsBatches => _batchReaders.All;

    /// <summary>True when the last placement showed members and none of them reads batches (a cluster of an earlier release).</summary>
    public bool NoMemberReadsBatches => _batchReaders.None;

    /// <summary>
    /// Sends a batch of events, to <paramref name="target"/> (a node's ingress) or through the seed
    /// contact when null, and waits up to <paramref name="timeout"/> for its one answer; throws
    /// <see cref="TimeoutException"/> when none comes in time.
    /// </summary>
    public async Task<object> SubmitBatchAsync(SubmitEventBatch batch, TimeSpan timeout, IActorRef? target) =>
        await RequestAsync(RequestKeys.Listener(batch.BatchId), batch, timeout, target);

    /// <summary>
    /// Sends one echo request and waits up to <paramref name="timeout"/> for its reply; with
    /// <paramref name="direct"/>, to the node hosting its shard when the placement is known.
    /// </summary>
    public async Task<object> EchoAsync(EchoRequest request, TimeSpan timeout, bool direct = false)
    {
        var target = direct ? _ingressByShard.GetValueOrDefault(_extractor.ShardId(request.EntityId, request)) : null;
        return await RequestAsync(RequestKeys.Echo(request.Key, request.RequestId), request, timeout, target);
    }

    /// <summary>
    /// Learns which node hosts each shard, keeping only nodes whose ingress answers this client
    /// directly (a node behind a firewall is reached through the seed contact instead).
    /// </summary>
    public async Task RefreshPlacementAsync(TimeSpan timeout)
    {
        if (await GetStatusAsync(timeout) is not ClusterStatusResult status)
            return;
        var ingressByAddress = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        var readerAddresses = status.Members.Where(m => m.Roles.Contains(WireFeatures.Batches)).Select(m => m.Address).ToHashSet(StringComparer.Ordinal);
        foreach (var address in status.Nodes.Where(n => n.ShardIds.Count > 0).Select(n => n.Address).Concat(readerAddresses).Distinct())
        {
            try
            {
                ingressByAddress[address] = await _system.ActorSelection($"{address}{ClusterNames.IngressPath}").ResolveOne(timeout);
            }
            catch (ActorNotFoundException)
            {
                // Gone since the status was read; the next refresh leaves it out.
            }
        }

        var placement = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        foreach (var node in status.Nodes)
            if (ingressByAddress.TryGetValue(node.Address, out var ingress))
                foreach (var shard in node.ShardIds)
                    placement[shard] = ingress;

        _ingressByShard = placement;
        _batchReaders = new BatchReaders(
            readerAddresses.Where(ingressByAddress.ContainsKey).OrderBy(a => a, StringComparer.Ordinal).Select(a => ingressByAddress[a]).ToList(),
            All: status.Members.Count > 0 && readerAddresses.Count == status.Members.Count,
            None: status.Members.Count > 0 && readerAddresses.Count == 0);
    }

    /// <summary>The ingresses of the members that read batches, and whether all or none of the members do.</summary>
    private sealed record BatchReaders(IReadOnlyList<IActorRef> Ingresses, bool All, bool None)
    {
        public static readonly BatchReaders Unknown = new([], All: false, None: false);
    }

    public async Task<object> GetStateAsync(string entityId, TimeSpan timeout) =>
        await RequestAsync(RequestKeys.State(entityId), new GetEntityState(entityId), timeout);

    /// <summary>Reads one page of an entity's journal.</summary>
    public async Task<object> GetJournalAsync(string entityId, long fromSequenceNr, int maxEntries, TimeSpan timeout) =>
        await RequestAsync(RequestKeys.Journal(entityId), new GetEntityJournal(entityId, fromSequenceNr, maxEntries), timeout);

    /// <summary>
    /// Sends a listener's request (history, event log, groups, webhooks) and waits for the reply carrying
    /// the same request id; throws <see cref="TimeoutException"/> when none comes in time.
    /// </summary>
    public async Task<object> ListenAsync(string requestId, IEventClusterMessage message, TimeSpan timeout) =>
        await RequestAsync(RequestKeys.Listener(requestId), message, timeout);

    public async Task<object> GetStatusAsync(TimeSpan timeout) =>
        await RequestAsync(RequestKeys.Status, GetClusterStatus.Instance, timeout);

    /// <summary>Closes the connection: waiting requests and any made later throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        foreach (var pending in _pending.Values)
            pending.TrySetException(new ObjectDisposedException(nameof(ClusterConnection)));
        await _system.Terminate().WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
    }

    private int _disposed;

    /// <summary>
    /// Sends <paramref name="message"/> unless an identical request is already waiting, then waits
    /// for the reply; throws <see cref="TimeoutException"/> when none comes in time.
    /// </summary>
    private async Task<object> RequestAsync(string key, IEventClusterMessage message, TimeSpan timeout, IActorRef? target = null)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        var mine = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = _pending.GetOrAdd(key, mine);
        if (ReferenceEquals(waiting, mine))
            _requester.Tell(new Requester.Outgoing(message, target));
        try
        {
            return await waiting.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            _pending.TryRemove(KeyValuePair.Create(key, waiting));
            throw;
        }
    }

    private static Config LoadRemoteTuning()
    {
        using var stream = typeof(ClusterConnection).Assembly.GetManifestResourceStream("EventCluster.Client.remote.hocon")
            ?? throw new InvalidOperationException("the remote tuning is missing from EventCluster.Client");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>Keys that match replies to the requests that caused them.</summary>
    private static class RequestKeys
    {
        public const string Status = "c";

        public static string Event(string entityId, string eventId) => $"e|{entityId}|{eventId}";

        public static string State(string entityId) => $"s|{entityId}";

        public static string Journal(string entityId) => $"j|{entityId}";

        public static string Echo(string key, string requestId) => $"x|{key}|{requestId}";

        public static string Listener(string requestId) => $"r|{requestId}";
    }

    /// <summary>
    /// Sends requests through the ClusterClient, or straight to a node's ingress, and completes
    /// the callers waiting for replies.
    /// </summary>
    private sealed class Requester : ReceiveActor
    {
        public Requester(IActorRef client, ConcurrentDictionary<string, TaskCompletionSource<object>> pending)
        {
            void Complete(string key, object reply)
            {
                if (pending.TryRemove(key, out var waiting))
                    waiting.TrySetResult(reply);
            }

            Receive<Outgoing>(outgoing =>
            {
                if (outgoing.Target is not null)
                    outgoing.Target.Tell(outgoing.Message);
                else
                    client.Tell(new ClusterClient.Send(ClusterNames.IngressPath, outgoing.Message, localAffinity: true));
            });
            Receive<EventAccepted>(reply => Complete(RequestKeys.Event(reply.EntityId, reply.EventId), reply));
            Receive<EventRejected>(reply => Complete(RequestKeys.Event(reply.EntityId, reply.EventId), reply));
            Receive<EventNotStored>(reply => Complete(RequestKeys.Event(reply.EntityId, reply.EventId), reply));
            Receive<EchoReply>(reply => Complete(RequestKeys.Echo(reply.Key, reply.RequestId), reply));
            Receive<EntityStateResult>(reply => Complete(RequestKeys.State(reply.EntityId), reply));
            Receive<EntityJournalResult>(reply => Complete(RequestKeys.Journal(reply.EntityId), reply));
            Receive<ClusterStatusResult>(reply => Complete(RequestKeys.Status, reply));
            Receive<EventLogPage>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<EntityHistoryResult>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<EventLogRequestRefused>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<GroupJoined>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<GroupConfirmed>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<GroupList>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<EventBatchResult>(reply => Complete(RequestKeys.Listener(reply.BatchId), reply));
            Receive<Messages.Webhooks.WebhookAnswer>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<EraseResult>(reply => Complete(RequestKeys.Listener(reply.RequestId), reply));
            Receive<QueryRejected>(reply =>
            {
                if (reply.EntityId.Length == 0)
                {
                    Complete(RequestKeys.Status, reply);
                    return;
                }

                Complete(RequestKeys.State(reply.EntityId), reply);
                Complete(RequestKeys.Journal(reply.EntityId), reply);
            });
        }

        public sealed record Outgoing(IEventClusterMessage Message, IActorRef? Target);
    }
}

/// <summary>Errors shared by the client and the command line's own requests.</summary>
internal static class ConnectionErrors
{
    /// <summary>The message for a request that got no answer.</summary>
    public static ClusterUnreachableException NoAnswer(IReadOnlyList<string> seeds, TimeSpan timeout, string what, string? eventId = null) =>
        new($"no answer from the cluster for {what} within {timeout.TotalSeconds:0.#}s via seeds {string.Join(",", seeds)}: " +
            "are the nodes running and is a seed reachable?", eventId);
}
