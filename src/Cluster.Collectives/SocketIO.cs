using System.Net.Sockets;

namespace Cluster.Collectives;

/// <summary>Blocking-style async helpers used only while connecting (handshakes, rendezvous), never on the hot path.</summary>
internal static class SocketIO
{
    public static async Task ReadExactAsync(Socket socket, Memory<byte> buffer, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer[read..], SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0) throw new EndOfStreamException($"connection closed by {Describe(socket)} after {read} of {buffer.Length} bytes");
            read += n;
        }
    }

    public static async Task WriteAllAsync(Socket socket, ReadOnlyMemory<byte> buffer, CancellationToken ct)
    {
        var sent = 0;
        while (sent < buffer.Length)
        {
            sent += await socket.SendAsync(buffer[sent..], SocketFlags.None, ct).ConfigureAwait(false);
        }
    }

    public static string Describe(Socket socket)
    {
        try { return socket.RemoteEndPoint?.ToString() ?? "unknown endpoint"; }
        catch (ObjectDisposedException) { return "closed socket"; }
        catch (SocketException) { return "unconnected socket"; }
    }

    public static void ConfigureDataSocket(Socket socket, int bufferBytes)
    {
        socket.NoDelay = true;
        if (bufferBytes > 0) CommunicatorListener.TrySetBuffers(socket, bufferBytes);
    }

    /// <summary>Drains what is left to read (closing with unread data would send RST, which also destroys the data the
    /// peer has not read yet, such as our goodbye), then shuts down and closes with a FIN.</summary>
    public static void CloseGracefully(Socket? socket)
    {
        if (socket is null) return;
        try
        {
            Span<byte> sink = stackalloc byte[4096];
            socket.Blocking = false;
            for (var i = 0; i < 64; i++)
            {
                var n = socket.Receive(sink, SocketFlags.None, out var error);
                if (error != SocketError.Success || n == 0) break;
            }
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        try { socket.Close(); } catch (ObjectDisposedException) { }
    }

    public static void CloseQuietly(Socket? socket)
    {
        if (socket is null) return;
        try { socket.Close(0); } catch (ObjectDisposedException) { }
        catch (SocketException) { }
    }
}
