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
    private int _sendHeaderPos = HeaderBytes;
    private int _recvHeaderPos = HeaderBytes;
    private OpCode _expectOp;
    private uint _expectSeq;
    private long _expectBytes;

    public Channel(IPeerLink link) => Link = link;

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

    private int SendCore(ReadOnlySpan<byte> data, ref bool progress)
    {
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

    /// <summary>Best effort: tells the peer this rank is closing (only between operations, at a frame boundary).</summary>
    public void TrySendGoodbye()
    {
        if (SendHeaderPending && _sendHeaderPos > 0) return; // mid-header: the stream is already inconsistent
        ArmSend(OpCode.Goodbye, 0, 0);
        try { Link.TrySend(_sendHeader); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException) { }
    }

    public void Dispose() => Link.Dispose();
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
