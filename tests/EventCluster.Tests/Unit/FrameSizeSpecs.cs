using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using EventCluster.Messages.Serialization;

namespace EventCluster.Tests.Unit;

/// <summary>
/// Two remoting actor systems with the node's remote tuning: a message above the 2 MiB frame
/// size is stopped at the sender with an error naming the limit, and the connection goes on
/// carrying the next message.
/// </summary>
public sealed class FrameSizeSpecs : TestKit
{
    private static Config Remoting => ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
            """)
        .WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "hocon", "remote.hocon"))))
        .WithFallback(ConfigurationFactory.ParseString(EventClusterSerializer.Binding));

    public FrameSizeSpecs() : base(Remoting.WithFallback(ConfigurationFactory.ParseString("akka.loglevel = INFO")))
    {
    }

    [Fact]
    public void Should_reject_a_message_above_the_frame_size_at_the_sender_and_keep_the_connection()
    {
        using var receiverSystem = ActorSystem.Create("receiver", Remoting);
        var probe = CreateTestProbe(receiverSystem);
        var address = ((ExtendedActorSystem)receiverSystem).Provider.DefaultAddress;
        var target = Sys.ActorSelection(new RootActorPath(address) / probe.Ref.Path.Elements);

        target.Tell(new byte[16]);
        probe.ExpectMsg<byte[]>(TimeSpan.FromSeconds(10));

        EventFilter.Error(contains: "max allowed size 2097152 bytes").ExpectOne(TimeSpan.FromSeconds(10),
            () => target.Tell(new byte[3 * 1024 * 1024]));
        probe.ExpectNoMsg(TimeSpan.FromSeconds(1));

        target.Tell(new byte[32]);
        Assert.Equal(32, probe.ExpectMsg<byte[]>(TimeSpan.FromSeconds(10)).Length);
        Shutdown(receiverSystem);
    }
}
