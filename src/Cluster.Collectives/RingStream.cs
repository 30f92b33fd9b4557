using System.Runtime.InteropServices;

namespace Cluster.Collectives;

/// <summary>
/// Pipelined ring over <c>n</c> blocks. Virtual steps 0..n-2 are reduce-scatter steps, n-1..2n-3 all-gather steps;
/// an operation runs a contiguous range of them (all-reduce: all; reduce-scatter: the first half; all-gather: the second).
/// At step t a rank sends block (r-t-1) mod n to its right neighbour and receives block (r-t-2) mod n from its left one,
/// so after the reduce-scatter half rank r owns the fully reduced block r. The block sent at step t is the block received
/// at step t-1, and it is streamed as soon as its prefix has been received (and reduced): sending chunk k overlaps
/// receiving and reducing chunk k+1. Reduce steps receive into <c>scratch</c> (one segment) and combine into <c>work</c>.
/// </summary>
internal static class RingStream
{
    public static void Run<T>(OpContext ctx, Channel left, Channel right, int rank, int n, ReadOnlySpan<byte> src, Span<byte> work,
        BlockLayout layout, int startStep, int endStep, ReduceOp op, int divisor, Span<byte> scratch) where T : unmanaged
    {
        var es = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var reduceSteps = n - 1;
        int sendStep = startStep, sendOff = 0;
        int recvStep = startStep, doneOff = 0, fill = 0;
        var segment = scratch.Length / es * es;
        while (sendStep < endStep || recvStep < endStep)
        {
            var progress = false;
            var sendBlockedOnSpace = false;
            if (sendStep < endStep)
            {
                var block = Mod(rank - sendStep - 1, n);
                var len = layout.Length(block);
                int avail;
                if (sendStep == startStep || recvStep > sendStep - 1) avail = len;
                else if (recvStep == sendStep - 1) avail = doneOff;
                else avail = 0;
                if (avail > sendOff || (len == 0 && right.SendHeaderPending) || (sendOff == 0 && right.SendHeaderPending && avail > 0))
                {
                    var from = sendStep == 0 ? src : work;
                    var off = layout.Offset(block);
                    var moved = right.Send(from.Slice(off + sendOff, avail - sendOff), ref progress);
                    sendOff += moved;
                    if (moved == 0) sendBlockedOnSpace = true;
                }
                if (sendOff == len && !right.SendHeaderPending) { sendStep++; sendOff = 0; }
            }
            if (recvStep < endStep)
            {
                var block = Mod(rank - recvStep - 2, n);
                var len = layout.Length(block);
                var off = layout.Offset(block);
                if (recvStep < reduceSteps && left.Link is Shm.ShmLink shm && src == work)
                {
                    // Shared memory: reduce straight out of the ring (no scratch copy).
                    var acc = MemoryMarshal.Cast<byte, T>(work.Slice(off + doneOff, len - doneOff));
                    var elems = left.ReceiveReduce(shm, acc, op, ref progress);
                    if (elems > 0 && divisor > 1 && recvStep == reduceSteps - 1) Reducer.Divide(acc[..elems], divisor);
                    doneOff += elems * es;
                }
                else if (recvStep < reduceSteps)
                {
                    var want = Math.Min(len - doneOff - fill, segment - fill);
                    fill += left.Receive(scratch.Slice(fill, want), ref progress);
                    var whole = fill / es * es;
                    if (whole > 0)
                    {
                        var dst = MemoryMarshal.Cast<byte, T>(work.Slice(off + doneOff, whole));
                        var a = MemoryMarshal.Cast<byte, T>(src.Slice(off + doneOff, whole));
                        Reducer.Combine(dst, a, MemoryMarshal.Cast<byte, T>(scratch[..whole]), op);
                        if (divisor > 1 && recvStep == reduceSteps - 1) Reducer.Divide(dst, divisor);
                        doneOff += whole;
                        fill -= whole;
                        if (fill > 0) scratch.Slice(whole, fill).CopyTo(scratch);
                    }
                }
                else
                {
                    doneOff += left.Receive(work.Slice(off + doneOff, len - doneOff), ref progress);
                }
                if (doneOff == len && !left.RecvHeaderPending) { recvStep++; doneOff = 0; }
            }
            if (progress) ctx.Progress();
            else if (sendStep < endStep || recvStep < endStep)
                ctx.Idle(recvStep < endStep ? left : null, sendBlockedOnSpace ? right : null);
        }
    }

    private static int Mod(int x, int n) => ((x % n) + n) % n;
}
