using System.Runtime.InteropServices;

namespace Cluster.Collectives;

/// <summary>Latency-optimised algorithms: recursive-doubling all-reduce (non-powers of two fold the extra ranks in
/// first and out last), dissemination barrier, and the pipelined chain broadcast.</summary>
internal static class SmallAlgorithms
{
    public static void RecursiveDoublingAllReduce<T>(OpContext ctx, Channel?[] peers, int rank, int n, Span<byte> data, ReduceOp op, Span<byte> scratch)
        where T : unmanaged
    {
        var pow2 = 1;
        while (pow2 * 2 <= n) pow2 *= 2;
        var extra = n - pow2;
        var tmp = scratch[..data.Length];
        int newRank;
        if (rank < 2 * extra)
        {
            if (rank % 2 == 0)
            {
                Transfer.Exchange(ctx, peers[rank + 1], data, null, default);
                newRank = -1;
            }
            else
            {
                Transfer.Exchange(ctx, null, default, peers[rank - 1], tmp);
                Reduce<T>(data, tmp, op);
                newRank = rank / 2;
            }
        }
        else
        {
            newRank = rank - extra;
        }
        if (newRank >= 0)
        {
            for (var mask = 1; mask < pow2; mask <<= 1)
            {
                var partnerNew = newRank ^ mask;
                var partner = partnerNew < extra ? partnerNew * 2 + 1 : partnerNew + extra;
                Transfer.Exchange(ctx, peers[partner], data, peers[partner], tmp);
                Reduce<T>(data, tmp, op);
            }
        }
        if (rank < 2 * extra)
        {
            if (rank % 2 == 0) Transfer.Exchange(ctx, null, default, peers[rank + 1], data);
            else Transfer.Exchange(ctx, peers[rank - 1], data, null, default);
        }
    }

    /// <summary>Dissemination barrier: in round k every rank signals rank+2^k and waits for rank-2^k (header-only frames).</summary>
    public static void DisseminationBarrier(OpContext ctx, Channel?[] peers, int rank, int n)
    {
        for (var d = 1; d < n; d <<= 1)
            Transfer.Exchange(ctx, peers[(rank + d) % n], default, peers[(rank - d + n) % n], default);
    }

    /// <summary>Chain rooted at <paramref name="root"/>: each rank forwards to the next the prefix it has received so far.</summary>
    public static void ChainBroadcast(OpContext ctx, Channel?[] peers, int rank, int n, int root, Span<byte> data)
    {
        var position = (rank - root + n) % n;
        var prev = position == 0 ? null : peers[(rank - 1 + n) % n];
        var next = position == n - 1 ? null : peers[(rank + 1) % n];
        var got = prev is null ? data.Length : 0;
        var sent = 0;
        var recvDone = prev is null;
        var sendDone = next is null;
        while (!recvDone || !sendDone)
        {
            var progress = false;
            var sendBlocked = false;
            if (!recvDone)
            {
                got += prev!.Receive(data[got..], ref progress);
                recvDone = got == data.Length && !prev.RecvHeaderPending;
            }
            if (!sendDone)
            {
                if (got > sent || next!.SendHeaderPending)
                {
                    var moved = next!.Send(data[sent..got], ref progress);
                    sent += moved;
                    sendBlocked = moved == 0;
                }
                sendDone = sent == data.Length && !next!.SendHeaderPending;
            }
            if (progress) ctx.Progress();
            else if (!recvDone || !sendDone) ctx.Idle(recvDone ? null : prev, sendBlocked ? next : null);
        }
    }

    private static void Reduce<T>(Span<byte> acc, Span<byte> incoming, ReduceOp op) where T : unmanaged =>
        Reducer.Accumulate(MemoryMarshal.Cast<byte, T>(acc), MemoryMarshal.Cast<byte, T>(incoming), op);
}
