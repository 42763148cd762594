using Akka.Actor;

namespace EventCluster.Node.Cluster;

/// <summary>How addresses appear in log lines: host:port, short enough to scan.</summary>
public static class AddressFormat
{
    /// <summary>host:port of an address.</summary>
    public static string Short(Address address) => $"{address.Host}:{address.Port}";
}
