using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cluster.Collectives;

internal sealed partial class MeshCommunicator
{
    public ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        const string name = "AllReduce";
        try
        {
            RequireReducible<T>(name);
            Enter(name, cancellationToken);
            try { AllReduceCore<T>(data.Span, op); }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    private void AllReduceCore<T>(Span<T> data, ReduceOp op) where T : unmanaged
    {
        if (typeof(T) == typeof(float) && _options.CompressFloat32AsBFloat16 && WorldSize > 1 && op is ReduceOp.Sum or ReduceOp.Average)
        {
            AllReduceCompressed(MemoryMarshal.Cast<T, float>(data), op);
            return;
        }
        var n = WorldSize;
        var bytes = MemoryMarshal.AsBytes(data);
        ArmCollective(OpCode.AllReduce, bytes.Length);
        if (n == 1 || data.Length == 0) return;
        if (bytes.Length <= _smallLimit)
        {
            SmallAlgorithms.RecursiveDoublingAllReduce<T>(_ctx, _peers, Rank, n, bytes, op, _scratch);
            if (op == ReduceOp.Average) Reducer.Divide(data, n);
            return;
        }
        var layout = new BlockLayout(data.Length, n, Unsafe.SizeOf<T>());
        RingStream.Run<T>(_ctx, Left, Right, Rank, n, bytes, bytes, layout, 0, 2 * n - 2, op,
            op == ReduceOp.Average ? n : 1, _scratch.AsSpan(0, _options.SegmentBytes));
    }

    /// <summary>float32 sum/average with bfloat16 on the wire: encode (round to nearest even), all-reduce the bf16
    /// words (each hop widens to float, adds, rounds back), decode. Half the bytes; about 3 significant digits,
    /// with one extra rounding per ring hop. Min/Max stay exact on float32 (they are not compressed).</summary>
    private void AllReduceCompressed(Span<float> data, ReduceOp op)
    {
        var wire = ArrayPool<BFloat16>.Shared.Rent(data.Length);
        try
        {
            var words = wire.AsSpan(0, data.Length);
            Compression.Bf16Codec.Encode(data, MemoryMarshal.Cast<BFloat16, ushort>(words));
            AllReduceCore<BFloat16>(words, op);
            Compression.Bf16Codec.Decode(MemoryMarshal.Cast<BFloat16, ushort>(words), data);
        }
        finally
        {
            ArrayPool<BFloat16>.Shared.Return(wire);
        }
    }

    public ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged
    {
        const string name = "Broadcast";
        try
        {
            if (root < 0 || root >= WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize}).");
            Enter(name, cancellationToken);
            try
            {
                var bytes = MemoryMarshal.AsBytes(data.Span);
                ArmCollective(OpCode.Broadcast, bytes.Length);
                if (WorldSize > 1) SmallAlgorithms.ChainBroadcast(_ctx, _peers, Rank, WorldSize, root, bytes);
            }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    public ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged
    {
        const string name = "AllGather";
        try
        {
            if ((long)output.Length != (long)input.Length * WorldSize)
                throw new ArgumentException($"output has {output.Length} elements; AllGather needs WorldSize × input.Length = {(long)input.Length * WorldSize}.", nameof(output));
            Enter(name, cancellationToken);
            try
            {
                var inBytes = MemoryMarshal.AsBytes(input.Span);
                var outBytes = MemoryMarshal.AsBytes(output.Span);
                ArmCollective(OpCode.AllGather, inBytes.Length);
                inBytes.CopyTo(outBytes.Slice(Rank * inBytes.Length, inBytes.Length));
                var n = WorldSize;
                if (n > 1 && inBytes.Length > 0)
                {
                    var layout = new BlockLayout(output.Length, n, Unsafe.SizeOf<T>());
                    RingStream.Run<T>(_ctx, Left, Right, Rank, n, outBytes, outBytes, layout, n - 1, 2 * n - 2, ReduceOp.Sum, 1, _scratch.AsSpan(0, _options.SegmentBytes));
                }
            }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    public ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        const string name = "ReduceScatter";
        try
        {
            RequireReducible<T>(name);
            if ((long)input.Length != (long)output.Length * WorldSize)
                throw new ArgumentException($"input has {input.Length} elements; ReduceScatter needs WorldSize × output.Length = {(long)output.Length * WorldSize}.", nameof(input));
            Enter(name, cancellationToken);
            try { ReduceScatterCore(input.Span, output.Span, op); }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    private void ReduceScatterCore<T>(ReadOnlySpan<T> input, Span<T> output, ReduceOp op) where T : unmanaged
    {
        var n = WorldSize;
        var inBytes = MemoryMarshal.AsBytes(input);
        var outBytes = MemoryMarshal.AsBytes(output);
        ArmCollective(OpCode.ReduceScatter, outBytes.Length);
        if (n == 1 || output.Length == 0)
        {
            input.CopyTo(output);
            return;
        }
        var work = ArrayPool<byte>.Shared.Rent(inBytes.Length);
        try
        {
            var layout = new BlockLayout(input.Length, n, Unsafe.SizeOf<T>());
            var workBytes = work.AsSpan(0, inBytes.Length);
            inBytes.CopyTo(workBytes);
            RingStream.Run<T>(_ctx, Left, Right, Rank, n, workBytes, workBytes, layout, 0, n - 1, op,
                op == ReduceOp.Average ? n : 1, _scratch.AsSpan(0, _options.SegmentBytes));
            work.AsSpan(layout.Offset(Rank), outBytes.Length).CopyTo(outBytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(work);
        }
    }

    public ValueTask BarrierAsync(CancellationToken cancellationToken = default)
    {
        const string name = "Barrier";
        try
        {
            Enter(name, cancellationToken);
            try
            {
                ArmCollective(OpCode.Barrier, 0);
                SmallAlgorithms.RecursiveDoublingBarrier(_ctx, _peers, Rank, WorldSize);
            }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged
    {
        const string name = "Send";
        try
        {
            RequirePeer(destination, nameof(destination));
            Enter(name, cancellationToken);
            try
            {
                var bytes = MemoryMarshal.AsBytes(data.Span);
                var channel = PointToPointLink(destination);
                channel.ArmSend(OpCode.PointToPoint, ++_sendSeq[destination], bytes.Length);
                Transfer.Exchange(_ctx, channel, bytes, null, default);
            }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    public ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged
    {
        const string name = "Recv";
        try
        {
            RequirePeer(source, nameof(source));
            Enter(name, cancellationToken);
            try
            {
                var bytes = MemoryMarshal.AsBytes(data.Span);
                var channel = PointToPointLink(source);
                channel.ArmReceive(OpCode.PointToPoint, ++_recvSeq[source], bytes.Length);
                Transfer.Exchange(_ctx, null, default, channel, bytes);
            }
            catch (Exception e) { throw Fail(name, e); }
            finally { Exit(); }
            return default;
        }
        catch (Exception e) { return ValueTask.FromException(e); }
    }

    private Channel Left => SmallAlgorithms.Link(_peers, Rank, PeerTopology.Left(Rank, WorldSize));

    private Channel Right => SmallAlgorithms.Link(_peers, Rank, PeerTopology.Right(Rank, WorldSize));

    private void RequirePeer(int peer, string parameter)
    {
        if (peer < 0 || peer >= WorldSize) throw new ArgumentOutOfRangeException(parameter, peer, $"rank must be in [0, {WorldSize}).");
        if (peer == Rank) throw new ArgumentException($"rank {Rank} cannot send to or receive from itself.", parameter);
    }

    private static void RequireReducible<T>(string operation) where T : unmanaged
    {
        if (!Reducer.IsSupported<T>())
            throw new NotSupportedException($"{operation}: element type {typeof(T).Name} cannot be reduced (use float, double, Half, BFloat16, int or long).");
    }
}
