using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Cluster.IntegrationTests;

internal static class ClusterTestPorts
{
    private static readonly ConcurrentDictionary<int, byte> Issued = new();

    /// <summary>A TCP port free on 127.0.0.1 right now and never handed out before in this test run (the kernel may
    /// return a just-released port again, which made a silo port equal its gateway port once).</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (Issued.TryAdd(port, 0)) return port;
        }
        throw new InvalidOperationException("no unused loopback port after 1000 attempts");
    }
}
