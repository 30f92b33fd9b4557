using System.Net;
using System.Net.Sockets;

namespace Cluster.Coordinator.Tests.Silo;

internal static class FreePort
{
    /// <summary>A port the OS just handed out on 127.0.0.1 (released immediately; small race accepted in tests).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
