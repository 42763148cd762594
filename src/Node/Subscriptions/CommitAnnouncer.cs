using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Node.Subscriptions;

/// <summary>
/// Tells every node's event-log reader that this node committed events, over distributed
/// pub/sub, so that live subscribers get them at once rather than at the next poll. The first
/// commit after a quiet spell is announced at once; under load, commits within
/// <see cref="Spacing"/> of the last notice share the next one, so a node sends at most a few
/// hundred small notices a second however many transactions it commits.
/// </summary>
public sealed class CommitAnnouncer : IDisposable
{
    /// <summary>The least time between two notices.</summary>
    public static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(4);

    private readonly IActorRef _mediator;
    private readonly Timer _timer;
    private readonly object _gate = new();
    private long _latest;
    private bool _coolingDown;
    private bool _pending;

    /// <summary>Announces through the system's distributed pub/sub mediator.</summary>
    public CommitAnnouncer(ActorSystem system)
    {
        _mediator = DistributedPubSub.Get(system).Mediator;
        _timer = new Timer(_ => OnSpacingOver());
    }

    /// <summary>Called after a commit with its highest position; never blocks.</summary>
    public void Committed(long position)
    {
        lock (_gate)
        {
            if (position > _latest)
                _latest = position;
            if (_coolingDown)
            {
                _pending = true;
                return;
            }

            _coolingDown = true;
        }

        Announce(position);
    }

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();

    private void Announce(long position)
    {
        _mediator.Tell(new Publish(EventsCommitted.Topic, new EventsCommitted(position)));
        _timer.Change(Spacing, Timeout.InfiniteTimeSpan);
    }

    private void OnSpacingOver()
    {
        long position;
        lock (_gate)
        {
            if (!_pending)
            {
                _coolingDown = false;
                return;
            }

            _pending = false;
            position = _latest;
        }

        Announce(position);
    }
}
