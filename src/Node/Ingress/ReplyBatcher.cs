using Akka.Actor;
using EventCluster.Messages.Replies;

namespace EventCluster.Node.Ingress;

/// <summary>
/// Gathers the acknowledgements of one client's batched events and sends them back together:
/// one network message for many replies. Replies that arrive while earlier ones wait in the
/// mailbox go out in the same batch; none is held back waiting for more.
/// </summary>
public sealed class ReplyBatcher : ReceiveActor
{
    // A client that sent nothing for this long no longer needs a batcher; a new batch makes a new one.
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(1);

    private readonly List<EventAccepted> _accepted = [];
    private readonly List<EventRejected> _rejected = [];
    private bool _flushQueued;

    /// <summary>Creates the batcher for replies to <paramref name="client"/>.</summary>
    public ReplyBatcher(IActorRef client)
    {
        Receive<EventAccepted>(reply => Buffer(() => _accepted.Add(reply)));
        Receive<EventRejected>(reply => Buffer(() => _rejected.Add(reply)));
        Receive<Flush>(_ =>
        {
            _flushQueued = false;
            client.Tell(new EventReplyBatch(_accepted.ToList(), _rejected.ToList()));
            _accepted.Clear();
            _rejected.Clear();
        });
        Receive<ReceiveTimeout>(_ => Context.Stop(Self));
        Context.SetReceiveTimeout(IdleTimeout);
    }

    /// <summary>Props of a batcher for <paramref name="client"/>.</summary>
    public static Props Props(IActorRef client) => Akka.Actor.Props.Create(() => new ReplyBatcher(client));

    private void Buffer(Action add)
    {
        add();
        if (_flushQueued)
            return;
        // The flush queues behind every reply already in the mailbox, so it carries all of them.
        _flushQueued = true;
        Self.Tell(Flush.Instance);
    }

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
    }
}
