using System.Net;
using System.Net.Sockets;

namespace Cluster.Collectives;

/// <summary>A rank's bound TCP listen socket. Bind it first (port 0 picks a free port), report <see cref="Port"/>
/// to the rendezvous, then pass it to <see cref="Communicator.CreateAsync(CommunicatorOptions, CommunicatorListener, CancellationToken)"/>.
/// The communicator accepts its peers on it while connecting; the caller disposes it.</summary>
public sealed class CommunicatorListener : IDisposable
{
    private CommunicatorListener(Socket socket)
    {
        Socket = socket;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    internal Socket Socket { get; }

    public static CommunicatorListener Bind(string host = "0.0.0.0", int port = 0) => Bind(host, port, 4 * 1024 * 1024);

    internal static CommunicatorListener Bind(string host, int port, int socketBufferBytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "port must be in [0, 65535]");
        var address = ResolveBindAddress(host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (socketBufferBytes > 0)
            {
                // Accepted sockets inherit the listener's buffer sizes; setting them before listen() lets TCP scale its window.
                TrySetBuffers(socket, socketBufferBytes);
            }
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(128);
            return new CommunicatorListener(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static void TrySetBuffers(Socket socket, int bytes)
    {
        try
        {
            socket.SendBufferSize = bytes;
            socket.ReceiveBufferSize = bytes;
        }
        catch (SocketException)
        {
            // The kernel caps the size (net.core.*mem_max); a smaller buffer still works.
        }
    }

    private static IPAddress ResolveBindAddress(string host)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip;
        if (host == "localhost") return IPAddress.Loopback;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
    }

    public void Dispose() => Socket.Dispose();
}
