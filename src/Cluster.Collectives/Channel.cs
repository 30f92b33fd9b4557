using System.Buffers.Binary;

namespace Cluster.Collectives;

/// <summary>One peer link plus the per-operation header state. The first use of each direction within an operation
/// carries a 16-byte header (magic, op code, sequence number, byte count); the receiver validates it before any payload.
/// Nothing else is framed: payload lengths are known to both sides.</summary>
internal sealed class Channel : IDisposable
{
    public const int HeaderBytes = 16;
    private const ushort Magic = 0xC011;
    private readonly byte[] _sendHeader = new byte[HeaderBytes];
    private readonly byte[] _recvHeader = new byte[HeaderBytes];
    /// <summary>Payload bytes that travel in the same syscall as the header (small messages: one send, one receive).</summary>
    private const int CoalesceBytes = 16 * 1024;
    private readonly byte[] _sendStage = new byte[HeaderBytes + CoalesceBytes];
    private readonly byte[] _recvStage = new byte[HeaderBytes + CoalesceBytes];
    private int _sendHeaderPos = HeaderBytes;
    private int _recvHeaderPos = HeaderBytes;
    private OpCode _expectOp;
    private uint _expectSeq;
    private long _expectBytes;

    private readonly System.Net.Sockets.Socket? _sideSocket;

    /// <param name="sideSocket">For shared-memory links: the authenticated TCP socket kept open for liveness only.</param>
    public Channel(IPeerLink link, System.Net.Sockets.Socket? sideSocket)
    {
        Link = link;
        _sideSocket = sideSocket;
    }

    public IPeerLink Link { get; }

    public int PeerRank => Link.PeerRank;

    public bool SendHeaderPending => _sendHeaderPos < HeaderBytes;

    public bool RecvHeaderPending => _recvHeaderPos < HeaderBytes;

    public void ArmSend(OpCode op, uint seq, long bytes)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_sendHeader, Magic);
        _sendHeader[2] = (byte)op;
        _sendHeader[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(_sendHeader.AsSpan(4), seq);
        BinaryPrimitives.WriteInt64LittleEndian(_sendHeader.AsSpan(8), bytes);
        _sendHeaderPos = 0;
    }

    public void ArmReceive(OpCode op, uint seq, long bytes)
    {
        _expectOp = op;
        _expectSeq = seq;
        _expectBytes = bytes;
        _recvHeaderPos = 0;
    }

    /// <summary>Sends the pending header (if any), then payload. Returns payload bytes sent; sets progress when anything moved.</summary>
    public int Send(ReadOnlySpan<byte> data, ref bool progress)
    {
        try
        {
            return SendCore(data, ref progress);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            throw new LinkFailedException(PeerRank, e.Message, e);
        }
    }

    /// <summary>Receives and validates the pending header (if any), then payload. Returns payload bytes received.</summary>
    public int Receive(Span<byte> data, ref bool progress)
    {
        try
        {
            return ReceiveCore(data, ref progress);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            throw new LinkFailedException(PeerRank, e.Message, e);
        }
    }

    /// <summary>Shared memory only: reduces whole elements straight out of the ring into the front of <paramref name="acc"/>
    /// (after the pending header, if any). Returns elements consumed.</summary>
    public int ReceiveReduce<T>(Shm.ShmLink shm, Span<T> acc, ReduceOp op, ref bool progress) where T : unmanaged
    {
        try
        {
            if (_recvHeaderPos < HeaderBytes)
            {
                var h = shm.TryReceive(_recvHeader.AsSpan(_recvHeaderPos));
                if (h > 0) { _recvHeaderPos += h; progress = true; }
                if (_recvHeaderPos < HeaderBytes) return 0;
                ValidateHeader();
            }
            var n = shm.TryReceiveReduce(acc, op);
            if (n > 0) progress = true;
            return n;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw new LinkFailedException(PeerRank, e.Message, e);
        }
    }

    private int SendCore(ReadOnlySpan<byte> data, ref bool progress)
    {
        if (_sendHeaderPos == 0 && !data.IsEmpty)
        {
            // Header and (a prefix of) the payload in one syscall: one segment and one wake-up at the receiver.
            var m = Math.Min(data.Length, CoalesceBytes);
            var staged = _sendStage.AsSpan(0, HeaderBytes + m);
            _sendHeader.CopyTo(staged);
            data[..m].CopyTo(staged[HeaderBytes..]);
            var k = Link.TrySend(staged);
            if (k == 0) return 0;
            progress = true;
            if (k < HeaderBytes) { _sendHeaderPos = k; return 0; }
            _sendHeaderPos = HeaderBytes;
            return k - HeaderBytes;
        }
        if (_sendHeaderPos < HeaderBytes)
        {
            var h = Link.TrySend(_sendHeader.AsSpan(_sendHeaderPos));
            if (h > 0) { _sendHeaderPos += h; progress = true; }
            if (_sendHeaderPos < HeaderBytes) return 0;
        }
        var n = Link.TrySend(data);
        if (n > 0) progress = true;
        return n;
    }

    private int ReceiveCore(Span<byte> data, ref bool progress)
    {
        if (_recvHeaderPos == 0 && !data.IsEmpty)
        {
            // Header and (a prefix of) the payload in one syscall; never more than this operation expects next.
            var m = Math.Min(data.Length, CoalesceBytes);
            var k = Link.TryReceive(_recvStage.AsSpan(0, HeaderBytes + m));
            if (k == 0) return 0;
            progress = true;
            var h = Math.Min(k, HeaderBytes);
            _recvStage.AsSpan(0, h).CopyTo(_recvHeader);
            _recvHeaderPos = h;
            if (h < HeaderBytes) return 0;
            ValidateHeader();
            _recvStage.AsSpan(HeaderBytes, k - HeaderBytes).CopyTo(data);
            return k - HeaderBytes;
        }
        if (_recvHeaderPos < HeaderBytes)
        {
            var h = Link.TryReceive(_recvHeader.AsSpan(_recvHeaderPos));
            if (h > 0) { _recvHeaderPos += h; progress = true; }
            if (_recvHeaderPos < HeaderBytes) return 0;
            ValidateHeader();
        }
        var n = Link.TryReceive(data);
        if (n > 0) progress = true;
        return n;
    }

    private void ValidateHeader()
    {
        var magic = BinaryPrimitives.ReadUInt16LittleEndian(_recvHeader);
        var op = (OpCode)_recvHeader[2];
        var seq = BinaryPrimitives.ReadUInt32LittleEndian(_recvHeader.AsSpan(4));
        var bytes = BinaryPrimitives.ReadInt64LittleEndian(_recvHeader.AsSpan(8));
        if (magic == Magic && op == OpCode.Goodbye)
            throw new IOException($"rank {PeerRank} closed its communicator");
        if (magic != Magic || op != _expectOp || seq != _expectSeq || bytes != _expectBytes)
        {
            throw new ProtocolMismatchException(
                $"expected {_expectOp} #{_expectSeq} of {_expectBytes} bytes, got {(magic == Magic ? op.ToString() : "garbage")} #{seq} of {bytes} bytes " +
                "(ranks called different collectives, different lengths or a different order)");
        }
    }

    /// <summary>True when the peer process is known dead: its TCP connection (data link or shared-memory side channel)
    /// is closed with nothing left to read. A graceful close leaves a goodbye to read, so it never counts here.</summary>
    public bool ProbePeerDead() => Link switch
    {
        TcpLink tcp => tcp.ProbeClosed(),
        _ when _sideSocket is not null => SocketClosedWithoutData(_sideSocket),
        _ => false,
    };

    private static bool SocketClosedWithoutData(System.Net.Sockets.Socket socket)
    {
        try
        {
            return socket.Poll(0, System.Net.Sockets.SelectMode.SelectRead) && socket.Available == 0;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Best effort: tells the peer this rank is closing (only between operations, at a frame boundary).</summary>
    public void TrySendGoodbye()
    {
        if (SendHeaderPending && _sendHeaderPos > 0) return; // mid-header: the stream is already inconsistent
        ArmSend(OpCode.Goodbye, 0, 0);
        try
        {
            Link.TrySend(_sendHeader);
            _sideSocket?.Send(_sendHeader.AsSpan(0, 1), System.Net.Sockets.SocketFlags.None, out _);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        Link.Dispose();
        SocketIO.CloseGracefully(_sideSocket);
    }
}

/// <summary>Operation codes carried in frame headers.</summary>
internal enum OpCode : byte
{
    AllReduce = 1,
    Broadcast = 2,
    AllGather = 3,
    ReduceScatter = 4,
    Barrier = 5,
    PointToPoint = 6,
    /// <summary>Sent by Dispose so that peers can tell a graceful close from a crash.</summary>
    Goodbye = 7,
}

internal sealed class ProtocolMismatchException(string message) : IOException(message);
