using Akka.Actor;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Diagnostics;

namespace EventCluster.Node.Entities;

/// <summary>
/// The non-persistent entity behind <see cref="EchoRequest"/>: answers at once and keeps nothing.
/// It lives in the event entities' shard region, so an echo takes exactly an event's route.
/// </summary>
public sealed class EchoEntity : ReceiveActor
{
    public EchoEntity(string node)
    {
        Receive<EchoRequest>(request => Sender.Tell(new EchoReply(request.Key, request.RequestId, node)));
        Receive<StopEntity>(_ => Context.Stop(Self));
    }

    public static Props Props(string node) => Akka.Actor.Props.Create(() => new EchoEntity(node));
}
