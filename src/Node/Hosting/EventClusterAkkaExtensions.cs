using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.Client;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Remote.Hosting;
using EventCluster.Messages;
using EventCluster.Messages.Cluster;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;
using EventCluster.Messages.Security;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Sharding;
using EventCluster.Node.Cluster;
using EventCluster.Node.Entities;
using EventCluster.Node.Ingress;
using EventCluster.Node.Journal;
using EventCluster.Node.Subscriptions;
using EventCluster.Node.Webhooks;
using Akka.Cluster.Tools.Singleton;

namespace EventCluster.Node.Hosting;

/// <summary>The Akka.Hosting wiring of an EventCluster node, in one place.</summary>
public static class EventClusterAkkaExtensions
{
    /// <summary>The tuning files under hocon/, loaded in this order before any fluent call.</summary>
    public static readonly IReadOnlyList<string> HoconFiles = ["remote.hocon", "cluster.hocon", "sharding.hocon", "persistence.hocon"];

    /// <summary>Adds the node's actor system: remoting, clustering, sharding, persistence, ingress and listeners.</summary>
    public static IServiceCollection AddEventClusterNode(this IServiceCollection services, NodeSettings settings)
    {
        services.AddSingleton(settings);
        services.AddWebhookDelivery(new WebhookOptions { Addresses = settings.WebhookAddresses, Secrets = settings.Secrets });
        services.AddAkka(ClusterNames.SystemName, (builder, _) => builder.ConfigureEventClusterNode(settings));
        return services;
    }

    /// <summary>Configures an Akka.Hosting builder as an EventCluster node.</summary>
    public static AkkaConfigurationBuilder ConfigureEventClusterNode(this AkkaConfigurationBuilder builder, NodeSettings settings)
    {
        // Tuning files first: HOCON added after the fluent calls is silently ignored by them.
        foreach (var file in HoconFiles)
            builder.AddHoconFile(Path.Combine(AppContext.BaseDirectory, "hocon", file), HoconAddMode.Prepend);

        if (settings.TlsCertificate is { } certificate)
        {
            builder.AddHocon(RemoteTls.Hocon, HoconAddMode.Prepend);
            builder.AddSetup(RemoteTls.Setup(certificate));
        }

        // Without seeds the bootstrap forms or joins the cluster.
        settings.Discovery?.AddTo(builder, settings.Host, settings.BindHost);

        builder
            .AddHocon(EventClusterSerializer.Binding, HoconAddMode.Prepend)
            .AddHocon(TypeNameRefusal.Hocon, HoconAddMode.Prepend)
            .AddHocon(settings.Journal.ToHocon(), HoconAddMode.Prepend)
            .AddHocon($"akka.cluster.sharding.distributed-data.durable.lmdb.dir = \"{Path.Combine(settings.DataDir, "ddata").Replace("\\", "/")}\"",
                HoconAddMode.Prepend)
            .AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append)
            .AddSetup(new DataOptionsSetup(settings.Journal.ToDataOptions()))
            .ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = Akka.Event.LogLevel.InfoLevel;
                loggers.ClearLoggers();
                loggers.AddLogger<AkkaLogBridge>();
            })
            .WithRemoting(new RemoteOptions
            {
                HostName = settings.BindHost,
                PublicHostName = settings.Host,
                Port = settings.Port,
            })
            // The roles announce which newer messages this node reads (a rolling upgrade's senders check them).
            .WithClustering(new ClusterOptions { SeedNodes = settings.SeedAddresses.ToArray(), Roles = WireFeatures.All.ToArray() })
            .WithShardRegion<EntityRegion>(
                EntityMessageExtractor.TypeName,
                (system, _, _) =>
                {
                    var node = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
                    var passivation = EntityPassivation.From(system.Settings.Config);
                    return entityId => ShardPreallocator.IsPlaceholder(entityId) ? ShardPreallocator.Placeholder.Props
                        : EchoRequest.IsEchoEntity(entityId) ? EchoEntity.Props(node)
                        : EventEntity.Props(entityId, node, passivation);
                },
                new EntityMessageExtractor(),
                new ShardOptions
                {
                    StateStoreMode = StateStoreMode.DData,
                    RememberEntities = false,
                    HandOffStopMessage = StopEntity.Instance,
                })
            .WithClusterClientReceptionist()
            .WithEventClusterHealthChecks()
            .WithActors((system, registry, resolver) =>
            {
                NodeLifetime.Watch(system, resolver.GetService<IHostApplicationLifetime>(),
                    resolver.GetService<ILoggerFactory>().CreateLogger("EventCluster.Node"));

                // Start the journal and snapshot store now: each creates its tables and connection
                // pool on first use, which would otherwise stall the first events for seconds.
                var persistence = Akka.Persistence.Persistence.Instance.Apply(system);
                persistence.JournalFor(null);
                persistence.SnapshotStoreFor(null);

                // The read side: this node's reader of the event log, told of every commit in the cluster.
                var database = JournalDatabase.OfJournal(system);
                var announcer = new CommitAnnouncer(system);
                database.Committed += announcer.Committed;
                system.RegisterOnTermination(announcer.Dispose);
                var reads = new EventLog(system, database);
                var eventLog = system.ActorOf(EventLogActor.Props(reads, settings.RecentEvents), EventLogActor.Name);
                registry.Register<EventLogActor>(eventLog);

                // Webhooks: one coordinator in the cluster (a singleton) runs every subscription;
                // any node manages them.
                var webhookOptions = resolver.GetService<WebhookOptions>();
                var webhookContext = new WebhookContext(eventLog, reads, database, resolver.GetService<IHttpClientFactory>(),
                    Akka.Cluster.Cluster.Get(system).SelfAddress.ToString(), webhookOptions);
                system.ActorOf(ClusterSingletonManager.Props(WebhookCoordinator.Props(webhookContext), PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system)), WebhookCoordinator.Name);
                var coordinator = system.ActorOf(ClusterSingletonProxy.Props($"/user/{WebhookCoordinator.Name}",
                    ClusterSingletonProxySettings.Create(system)), WebhookCoordinator.Name + "-proxy");
                var webhookService = new WebhookService(database, coordinator, webhookOptions);
                _ = webhookService.ResealAsync(resolver.GetService<ILoggerFactory>().CreateLogger("EventCluster.Node.Webhooks"));
                var webhooks = system.ActorOf(WebhookManager.Props(webhookService), "webhook-manager");
                registry.Register<WebhookManager>(webhooks);

                // Retention: one job in the cluster erases events of the configured types once old enough.
                if (settings.Retention is { Count: > 0 } retention)
                    system.ActorOf(ClusterSingletonManager.Props(RetentionJob.Props(database, retention), PoisonPill.Instance,
                        ClusterSingletonManagerSettings.Create(system)), RetentionJob.Name);

                var region = registry.Get<EntityRegion>();
                var status = new ClusterStatusReader(system, region);
                var ingress = system.ActorOf(IngressActor.Props(region, new EntityJournalQuery(system), status, eventLog, webhooks, settings.Tokens), IngressActor.Name);
                registry.Register<IngressActor>(ingress);
                ClusterClientReceptionist.Get(system).RegisterService(ingress);
                system.ActorOf(MembershipListener.Props(settings.JoinDescription), "membership-listener");
                system.ActorOf(ShardDistributionReporter.Props(region), ShardDistributionReporter.Name);
                system.ActorOf(ShardPreallocator.Props(region), "shard-preallocator");
                // Sharding hands shards off in the phase after this one; tell the others first.
                var shutdown = CoordinatedShutdown.Get(system);
                shutdown.AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "announce-leaving", () =>
                {
                    if (shutdown.ShutdownReason is not CoordinatedShutdown.ClusterDowningReason)
                        ShardDistributionReporter.AnnounceLeaving(system);
                    return Task.FromResult(Akka.Done.Instance);
                });
            });
        return builder;
    }
}
