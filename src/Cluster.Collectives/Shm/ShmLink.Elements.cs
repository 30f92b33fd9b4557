using Cluster.Collectives.Compression;

namespace Cluster.Collectives.Shm;

/// <summary>Element-wise fast paths that work straight on the ring memory (no intermediate copy). They move whole
/// elements only; an element that straddles the wrap-around point (possible only when the byte stream is not
/// element-aligned) goes through a small stack buffer.</summary>
internal sealed unsafe partial class ShmLink
{
    /// <summary>Reduces as many whole elements as are available straight out of the ring into the front of
    /// <paramref name="acc"/> (acc[i] = acc[i] op received[i]) and returns how many elements it consumed
    /// (0 when fewer than sizeof(T) bytes are available). The caller advances <paramref name="acc"/> itself.</summary>
    public int TryReceiveReduce<T>(Span<T> acc, ReduceOp op) where T : unmanaged
    {
        var sink = new ReduceSink<T> { Acc = acc, Op = op };
        return ReceiveElements<T, ReduceSink<T>>(acc.Length, ref sink);
    }

    /// <summary>Receives bfloat16 elements (as sent by <see cref="TrySendBf16"/>) and adds them, widened, to the front
    /// of <paramref name="acc"/>; returns how many it consumed.</summary>
    public int TryReceiveBf16Accumulate(Span<float> acc)
    {
        var sink = new Bf16Sink { Dst = acc, Accumulate = true };
        return ReceiveElements<ushort, Bf16Sink>(acc.Length, ref sink);
    }

    /// <summary>Receives bfloat16 elements and writes them, widened, to the front of <paramref name="dst"/>; returns how many.</summary>
    public int TryReceiveBf16(Span<float> dst)
    {
        var sink = new Bf16Sink { Dst = dst, Accumulate = false };
        return ReceiveElements<ushort, Bf16Sink>(dst.Length, ref sink);
    }

    /// <summary>Encodes as many leading elements of <paramref name="src"/> as fit as bfloat16 (round to nearest even,
    /// see <see cref="Bf16Codec"/>) straight into the ring; returns how many elements it sent.</summary>
    public int TrySendBf16(ReadOnlySpan<float> src)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref *_peerClosed) != 0 || _peerGone) throw Gone("send to");
        if (src.IsEmpty) return 0;
        var wanted = (long)src.Length * sizeof(ushort);
        var free = _capacity - (_sendPos - _sendTailCache);
        if (free < wanted)
        {
            _sendTailCache = Volatile.Read(ref *_sendTail);
            free = _capacity - (_sendPos - _sendTailCache);
            if ((ulong)free > (ulong)_capacity) throw Corrupt($"its read position {_sendTailCache} is outside [{_sendPos - _capacity}, {_sendPos}]");
        }
        var elems = (int)Math.Min(free / sizeof(ushort), src.Length);
        if (elems == 0)
        {
            if (PeerGone) throw Gone("send to");
            return 0;
        }
        var chunk = PublishChunk / sizeof(ushort);
        var done = 0;
        while (done < elems)
        {
            var idx = (int)(_sendPos & _mask);
            var contiguous = _capacity - idx;
            if (contiguous >= sizeof(ushort))
            {
                var k = Math.Min(Math.Min(elems - done, contiguous / sizeof(ushort)), chunk);
                Bf16Codec.Encode(src.Slice(done, k), new Span<ushort>(_sendData + idx, k));
                done += k;
                _sendPos += (long)k * sizeof(ushort);
            }
            else
            {
                var bits = BFloat16.FromSingle(src[done]);
                _sendData[idx] = (byte)bits; // little-endian: low byte at the end of the ring, high byte at its start
                _sendData[0] = (byte)(bits >> 8);
                done++;
                _sendPos += sizeof(ushort);
            }
            Volatile.Write(ref *_sendHead, _sendPos);
        }
        return elems;
    }

    private int ReceiveElements<TElem, TSink>(int maxElems, ref TSink sink)
        where TElem : unmanaged where TSink : struct, IElementSink<TElem>, allows ref struct
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (maxElems == 0) return 0;
        var size = sizeof(TElem);
        var avail = Available((long)maxElems * size, size);
        var elems = (int)Math.Min(avail / size, maxElems);
        var chunk = Math.Max(1, PublishChunk / size);
        var done = 0;
        while (done < elems)
        {
            var idx = (int)(_recvPos & _mask);
            var contiguous = _capacity - idx;
            if (contiguous >= size)
            {
                var k = Math.Min(Math.Min(elems - done, contiguous / size), chunk);
                sink.Consume(new ReadOnlySpan<TElem>(_recvData + idx, k), done);
                done += k;
                _recvPos += (long)k * size;
            }
            else
            {
                TElem tmp;
                var t = (byte*)&tmp;
                new ReadOnlySpan<byte>(_recvData + idx, contiguous).CopyTo(new Span<byte>(t, contiguous));
                new ReadOnlySpan<byte>(_recvData, size - contiguous).CopyTo(new Span<byte>(t + contiguous, size - contiguous));
                sink.Consume(new ReadOnlySpan<TElem>(&tmp, 1), done);
                done++;
                _recvPos += size;
            }
            Volatile.Write(ref *_recvTail, _recvPos);
        }
        return done;
    }

    private interface IElementSink<TElem>
    {
        void Consume(ReadOnlySpan<TElem> src, int at);
    }

    private ref struct ReduceSink<T> : IElementSink<T> where T : unmanaged
    {
        public Span<T> Acc;
        public ReduceOp Op;
        public readonly void Consume(ReadOnlySpan<T> src, int at) => Reducer.Accumulate(Acc.Slice(at, src.Length), src, Op);
    }

    private ref struct Bf16Sink : IElementSink<ushort>
    {
        public Span<float> Dst;
        public bool Accumulate;

        public readonly void Consume(ReadOnlySpan<ushort> src, int at)
        {
            if (Accumulate) Bf16Codec.DecodeAccumulate(Dst.Slice(at, src.Length), src);
            else Bf16Codec.Decode(src, Dst.Slice(at, src.Length));
        }
    }
}
