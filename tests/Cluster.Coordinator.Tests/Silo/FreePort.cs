using System.Net;
using System.Net.Sockets;

namespace Cluster.Coordinator.Tests.Silo;

internal static class FreePort
{
    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A port the OS just handed out on 127.0.0.1 (released immediately; small race accepted in tests) that this test
    /// process has not handed out before: the OS may give a just-released port again, and a silo and its gateway drawn
    /// one after the other must not collide.
    /// </summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (Given)
            {
                if (Given.Add(port)) return port;
            }
        }
        throw new InvalidOperationException("no unused loopback port after 100 attempts");
    }
}
