using System.Runtime.InteropServices;

namespace Cluster.Collectives;

/// <summary>Latency-optimised algorithms: recursive-doubling all-reduce (non-powers of two fold the extra ranks in
/// first and out last), the barrier on the same schedule (header-only frames), and the pipelined chain broadcast.
/// Every partner they use is in <see cref="PeerTopology.Partners"/>; a missing link fails loudly.</summary>
internal static class SmallAlgorithms
{
    public static void RecursiveDoublingAllReduce<T>(OpContext ctx, Channel?[] peers, int rank, int n, Span<byte> data, ReduceOp op, Span<byte> scratch)
        where T : unmanaged => RecursiveDoubling<T>(ctx, peers, rank, n, data, scratch[..data.Length], op, reduce: true);

    /// <summary>Recursive-doubling barrier: the all-reduce schedule with empty payloads, so no rank leaves before every
    /// rank has entered. Uses the same partners as the small all-reduce (⌈log2 n⌉ rounds, plus two for non-powers of two).</summary>
    public static void RecursiveDoublingBarrier(OpContext ctx, Channel?[] peers, int rank, int n) =>
        RecursiveDoubling<byte>(ctx, peers, rank, n, default, default, ReduceOp.Sum, reduce: false);

    private static void RecursiveDoubling<T>(OpContext ctx, Channel?[] peers, int rank, int n, Span<byte> data, Span<byte> tmp, ReduceOp op, bool reduce)
        where T : unmanaged
    {
        if (n == 1) return;
        var pow2 = PeerTopology.LargestPowerOfTwoAtMost(n);
        var extra = n - pow2;
        var fold = PeerTopology.FoldPartner(rank, extra);
        var virtualRank = PeerTopology.VirtualRank(rank, extra);
        if (fold is { } f)
        {
            if (virtualRank is null) Transfer.Exchange(ctx, Link(peers, rank, f), data, null, default);
            else
            {
                Transfer.Exchange(ctx, null, default, Link(peers, rank, f), tmp);
                if (reduce) Reduce<T>(data, tmp, op);
            }
        }
        if (virtualRank is { } v)
        {
            for (var mask = 1; mask < pow2; mask <<= 1)
            {
                var partner = Link(peers, rank, PeerTopology.RealRank(v ^ mask, extra));
                Transfer.Exchange(ctx, partner, data, partner, tmp);
                if (reduce) Reduce<T>(data, tmp, op);
            }
        }
        if (fold is { } back)
        {
            if (virtualRank is null) Transfer.Exchange(ctx, null, default, Link(peers, rank, back), data);
            else Transfer.Exchange(ctx, Link(peers, rank, back), data, null, default);
        }
    }

    /// <summary>The channel to <paramref name="peer"/>; an algorithm asking for a peer outside the topology is a bug, not a null link.</summary>
    public static Channel Link(Channel?[] peers, int rank, int peer) =>
        peers[peer] ?? throw new InvalidOperationException($"no link from rank {rank} to rank {peer}: not in PeerTopology.Partners");

    /// <summary>Chain rooted at <paramref name="root"/>: each rank forwards to the next the prefix it has received so far.</summary>
    public static void ChainBroadcast(OpContext ctx, Channel?[] peers, int rank, int n, int root, Span<byte> data)
    {
        var position = (rank - root + n) % n;
        var prev = position == 0 ? null : Link(peers, rank, PeerTopology.Left(rank, n));
        var next = position == n - 1 ? null : Link(peers, rank, PeerTopology.Right(rank, n));
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
