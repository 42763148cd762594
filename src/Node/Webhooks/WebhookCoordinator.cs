using Akka.Actor;
using Akka.Event;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Journal;
using EventCluster.Node.Subscriptions;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// Runs every webhook subscription exactly once in the cluster: a cluster singleton with one
/// runner per subscription. When its node crashes the singleton starts on a survivor once the
/// crashed node is downed; when its node leaves it hands over at once. Each runner resumes from
/// its stored position.
/// </summary>
public sealed class WebhookCoordinator : ReceiveActor, IWithTimers
{
    /// <summary>The singleton manager's name on every node.</summary>
    public const string Name = "webhooks";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly WebhookContext _context;
    private readonly Dictionary<string, (IActorRef Runner, long Generation)> _runners = new(StringComparer.Ordinal);
    private readonly HashSet<string> _replays = new(StringComparer.Ordinal);
    private long _started;

    /// <summary>Creates the coordinator.</summary>
    public WebhookCoordinator(WebhookContext context)
    {
        _context = context;
        Receive<WebhooksChanged>(changed =>
        {
            if (changed.ReplayParkedOf is { } name)
            {
                if (_runners.TryGetValue(name, out var running))
                    running.Runner.Tell(WebhookRunner.Replay.Instance);
                else
                    _replays.Add(name); // told to its runner when it starts
            }

            Reload();
        });
        Receive<Tick>(_ => Reload());
        Receive<Definitions>(Apply);
        Receive<Status.Failure>(failure => _log.Warning("Webhooks: could not load the subscriptions: {0}", failure.Cause.GetBaseException().Message));
        Receive<Terminated>(terminated =>
        {
            foreach (var pair in _runners.Where(pair => pair.Value.Runner.Equals(terminated.ActorRef)).ToList())
                _runners.Remove(pair.Key);
        });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the coordinator.</summary>
    public static Props Props(WebhookContext context) => Akka.Actor.Props.Create(() => new WebhookCoordinator(context));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _log.Info("Webhooks: this node runs the webhook subscriptions");
        // Definitions are read again every few seconds as well: a change told to a coordinator
        // that was just moving is not lost.
        Timers.StartPeriodicTimer("reload", Tick.Instance, TimeSpan.FromSeconds(3));
        Reload();
    }

    private void Reload() =>
        _context.Database.Workers.RunAsync(store => WebhookStore.Load(store, _context.Options.Secrets)).PipeTo(Self, success: rows => new Definitions(rows));

    private void Apply(Definitions definitions)
    {
        var generations = definitions.Rows.ToDictionary(row => row.Definition.Name, row => row.Generation, StringComparer.Ordinal);
        foreach (var (name, running) in _runners.Where(pair => generations.GetValueOrDefault(pair.Key) != pair.Value.Generation).ToList())
        {
            _log.Info("Webhooks: subscription {0} removed or replaced; stopping its runner", name);
            Context.Stop(running.Runner);
            _runners.Remove(name);
        }

        foreach (var row in definitions.Rows.Where(row => !_runners.ContainsKey(row.Definition.Name)))
        {
            // Without its secret a subscription would go out unsigned: it waits, its position kept,
            // for a node that has the key.
            if (row.SecretProblem is { } problem)
            {
                if (_unopened.Add(row.Definition.Name))
                    _log.Warning("Webhooks: subscription {0} is {1}", row.Definition.Name, problem);
                continue;
            }


            // A numbered name: a runner of a subscription removed and added again may still be stopping.
            var runner = Context.ActorOf(WebhookRunner.Props(row, _context), $"runner-{++_started}-{Uri.EscapeDataString(row.Definition.Name)}");
            Context.Watch(runner);
            _runners[row.Definition.Name] = (runner, row.Generation);
            if (_replays.Remove(row.Definition.Name))
                runner.Tell(WebhookRunner.Replay.Instance);
            _log.Info("Webhooks: running subscription {0} from position {1}", row.Definition.Name, row.Position);
        }
    }

    private readonly HashSet<string> _unopened = new(StringComparer.Ordinal);

    private sealed record Definitions(List<WebhookRow> Rows);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}

/// <summary>What runners need from their node.</summary>
/// <param name="EventLog">The node's event-log reader actor.</param>
/// <param name="Reader">The node's reads of the journal.</param>
/// <param name="Database">The journal database.</param>
/// <param name="HttpClients">The node's HTTP clients; deliveries use <see cref="WebhookSender.HttpClientName"/>.</param>
/// <param name="Node">This node's address, shown as the runner.</param>
/// <param name="Options">How this node delivers.</param>
public sealed record WebhookContext(IActorRef EventLog, EventLog Reader, JournalDatabase Database, IHttpClientFactory HttpClients, string Node,
    WebhookOptions Options);

/// <summary>The runner of one subscription: its delivery, started when the runner starts and stopped (with a last checkpoint) when it stops.</summary>
public sealed class WebhookRunner : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly WebhookDelivery _delivery;
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private Task _replay = Task.CompletedTask;

    /// <summary>Creates the runner of <paramref name="row"/>.</summary>
    public WebhookRunner(WebhookRow row, WebhookContext context)
    {
        _delivery = new WebhookDelivery(row, context, _log);
        var self = Self;
        _delivery.Removed += () => self.Tell(PoisonPill.Instance);
        Receive<Replay>(_ =>
        {
            if (_replay.IsCompleted)
                _replay = _delivery.ReplayParkedAsync(_stop.Token).ContinueWith(task =>
                {
                    if (task.IsFaulted)
                        _log.Warning("Webhook {0}: replay of parked events failed: {1}", row.Definition.Name, task.Exception!.GetBaseException().Message);
                }, TaskScheduler.Default);
        });
    }

    /// <summary>Props of the runner.</summary>
    public static Props Props(WebhookRow row, WebhookContext context) => Akka.Actor.Props.Create(() => new WebhookRunner(row, context));

    /// <inheritdoc />
    protected override void PreStart() => _running = Task.Run(() => _delivery.RunAsync(_stop.Token));

    /// <inheritdoc />
    protected override void PostStop()
    {
        // The delivery stores its position as it stops; wait briefly for it, so a hand-over
        // repeats as little as possible.
        _stop.Cancel();
        try
        {
            Task.WhenAll(_running, _replay).Wait(TimeSpan.FromSeconds(3));
        }
        catch (AggregateException)
        {
            // Logged where it happened; the next runner goes on from the stored position.
        }
    }

    /// <summary>Replays the parked events.</summary>
    public sealed class Replay
    {
        /// <summary>The message.</summary>
        public static readonly Replay Instance = new();
    }
}
