using System.Net.Sockets;

namespace Cluster.Collectives;

/// <summary>A non-blocking, authenticated TCP connection to one peer.</summary>
internal sealed class TcpLink : IPeerLink
{
    private readonly Socket _socket;
    private volatile bool _gone;

    public TcpLink(Socket socket, int peerRank)
    {
        _socket = socket;
        PeerRank = peerRank;
        _socket.Blocking = false;
    }

    public int PeerRank { get; }

    public Socket? PollSocket => _socket;

    public bool PeerGone => _gone;

    public int TrySend(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return 0;
        var n = _socket.Send(data, SocketFlags.None, out var error);
        if (error == SocketError.Success) return n;
        if (error == SocketError.WouldBlock) return 0;
        _gone = true;
        throw new IOException($"sending to rank {PeerRank} failed: {error}");
    }

    public int TryReceive(Span<byte> data)
    {
        if (data.IsEmpty) return 0;
        var n = _socket.Receive(data, SocketFlags.None, out var error);
        if (error == SocketError.Success)
        {
            if (n > 0) return n;
            _gone = true;
            throw new IOException($"rank {PeerRank} closed the connection");
        }
        if (error == SocketError.WouldBlock) return 0;
        _gone = true;
        throw new IOException($"receiving from rank {PeerRank} failed: {error}");
    }

    /// <summary>True when the peer closed its end and nothing is left to read (a readable socket with no data).</summary>
    public bool ProbeClosed()
    {
        if (_gone) return true;
        try
        {
            if (_socket.Poll(0, SelectMode.SelectError)) return _gone = true;
            if (_socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0) return _gone = true;
            return false;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return _gone = true;
        }
    }

    public void Dispose() => SocketIO.CloseGracefully(_socket);
}
