using System.Net;
using System.Net.Sockets;

namespace EventCluster.Tests.Support;

/// <summary>Hands out loopback ports nobody listens on, never the same one twice in a test run.</summary>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];

    /// <summary>A free TCP port on 127.0.0.1.</summary>
    public static int Next()
    {
        lock (Given)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Given.Add(port))
                    return port;
            }
        }
    }
}
