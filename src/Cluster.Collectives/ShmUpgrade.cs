using System.Net.Sockets;
using System.Text;
using Cluster.Collectives.Shm;

namespace Cluster.Collectives;

/// <summary>Upgrades an authenticated TCP connection between two ranks of one host to a shared-memory link: the lower
/// rank (the acceptor) creates a segment with a random name under /dev/shm and sends the name over the authenticated
/// socket; the higher rank maps it and acknowledges. The socket stays open as a liveness side channel: a graceful
/// close writes a goodbye byte first, so a closed socket with nothing to read means the peer process died.
/// With <see cref="TransportKind.Auto"/> either side may decline (no /dev/shm, mapping failed): both stay on TCP.</summary>
internal static class ShmUpgrade
{
    private const int MaxNameBytes = 200;
    private const byte Ack = 0x5A;
    private const byte Nak = 0x00;

    /// <summary>Acceptor side. Returns null when the pair stays on TCP (only when <paramref name="required"/> is false).</summary>
    public static async Task<IPeerLink?> CreateAsync(Socket socket, int peer, int ringBytes, bool required, CancellationToken ct)
    {
        ShmLink link;
        try
        {
            link = ShmLink.Create(ShmLink.NewName(), peer, ringBytes);
        }
        catch (Exception e) when (!required && e is IOException or UnauthorizedAccessException)
        {
            await SocketIO.WriteAllAsync(socket, new byte[] { 0 }, ct).ConfigureAwait(false);
            return null;
        }
        try
        {
            var name = Encoding.ASCII.GetBytes(Path.GetFileName(link.FilePath));
            var message = new byte[1 + name.Length];
            message[0] = (byte)name.Length;
            name.CopyTo(message, 1);
            await SocketIO.WriteAllAsync(socket, message, ct).ConfigureAwait(false);
            var ack = new byte[1];
            await SocketIO.ReadExactAsync(socket, ack, ct).ConfigureAwait(false);
            if (ack[0] == Ack) return link;
            link.Dispose();
            if (ack[0] == Nak && !required) return null;
            throw new IOException($"rank {peer} could not map the shared-memory link");
        }
        catch
        {
            link.Dispose();
            throw;
        }
    }

    /// <summary>Connector side. Returns null when the pair stays on TCP (only when <paramref name="required"/> is false).</summary>
    public static async Task<IPeerLink?> OpenAsync(Socket socket, int peer, bool required, CancellationToken ct)
    {
        var length = new byte[1];
        await SocketIO.ReadExactAsync(socket, length, ct).ConfigureAwait(false);
        if (length[0] == 0)
        {
            if (required) throw new IOException($"rank {peer} could not create a shared-memory link");
            return null;
        }
        if (length[0] > MaxNameBytes) throw new IOException($"rank {peer} sent a shared-memory name of {length[0]} bytes");
        var name = new byte[length[0]];
        await SocketIO.ReadExactAsync(socket, name, ct).ConfigureAwait(false);
        ShmLink link;
        try
        {
            link = ShmLink.Open(Encoding.ASCII.GetString(name), peer, TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (!required && e is IOException or UnauthorizedAccessException or TimeoutException or InvalidDataException)
        {
            await SocketIO.WriteAllAsync(socket, new[] { Nak }, ct).ConfigureAwait(false);
            return null;
        }
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
