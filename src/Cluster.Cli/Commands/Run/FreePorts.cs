using System.Net;
using System.Net.Sockets;

namespace Cluster.Cli.Commands.Run;

internal static class FreePorts
{
    /// <summary><paramref name="count"/> distinct free TCP ports on 127.0.0.1 (held open together while choosing, then released).</summary>
    public static int[] Pick(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var l = new TcpListener(IPAddress.Loopback, 0);
                l.Start();
                listeners.Add(l);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }
}
