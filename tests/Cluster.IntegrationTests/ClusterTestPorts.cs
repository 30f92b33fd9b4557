using System.Net;
using System.Net.Sockets;

namespace Cluster.IntegrationTests;

internal static class ClusterTestPorts
{
    /// <summary>A TCP port free on 127.0.0.1 right now.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
