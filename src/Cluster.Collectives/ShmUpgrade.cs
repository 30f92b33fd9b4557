using System.Net.Sockets;
using System.Text;
using Cluster.Collectives.Shm;

namespace Cluster.Collectives;

/// <summary>Upgrades an authenticated TCP connection between two ranks of one host to a shared-memory link: the lower
/// rank (the acceptor) creates a segment with a random name under /dev/shm and sends the name over the authenticated
/// socket; the higher rank maps it and acknowledges. The socket stays open as a liveness side channel: a graceful
/// close writes a goodbye byte first, so a closed socket with nothing to read means the peer process died.</summary>
internal static class ShmUpgrade
{
    private const int MaxNameBytes = 200;
    private const byte Ack = 0x5A;

    public static async Task<IPeerLink> CreateAsync(Socket socket, int peer, int ringBytes, CancellationToken ct)
    {
        var link = ShmLink.Create(ShmLink.NewName(), peer, ringBytes);
        try
        {
            var name = Encoding.ASCII.GetBytes(Path.GetFileName(link.FilePath));
            var message = new byte[1 + name.Length];
            message[0] = (byte)name.Length;
            name.CopyTo(message, 1);
            await SocketIO.WriteAllAsync(socket, message, ct).ConfigureAwait(false);
            var ack = new byte[1];
            await SocketIO.ReadExactAsync(socket, ack, ct).ConfigureAwait(false);
            if (ack[0] != Ack) throw new IOException($"rank {peer} did not acknowledge the shared-memory link");
            return link;
        }
        catch
        {
            link.Dispose();
            throw;
        }
    }

    public static async Task<IPeerLink> OpenAsync(Socket socket, int peer, CancellationToken ct)
    {
        var length = new byte[1];
        await SocketIO.ReadExactAsync(socket, length, ct).ConfigureAwait(false);
        if (length[0] is 0 or > MaxNameBytes) throw new IOException($"rank {peer} sent a shared-memory name of {length[0]} bytes");
        var name = new byte[length[0]];
        await SocketIO.ReadExactAsync(socket, name, ct).ConfigureAwait(false);
        var link = ShmLink.Open(Encoding.ASCII.GetString(name), peer, TimeSpan.FromSeconds(5));
        try
        {
            await SocketIO.WriteAllAsync(socket, new[] { Ack }, ct).ConfigureAwait(false);
            return link;
        }
        catch
        {
            link.Dispose();
            throw;
        }
    }
}
