namespace Cluster.Collectives;

/// <summary>
/// The peers a rank's data plane connects to when the communicator is created: exactly the pairs the algorithms use.
/// <list type="bullet">
/// <item>Ring neighbours (r−1, r+1 mod n): the pipelined ring (large all-reduce, reduce-scatter, all-gather) and the chain broadcast.</item>
/// <item>The recursive-doubling schedule (small all-reduce and the barrier): for n = 2^k + extra, the ranks below 2·extra
/// pair up (even r folds into r+1), then the 2^k survivors exchange with their hypercube partners (virtual rank v ↔ v ⊕ 2^i).</item>
/// </list>
/// The set is symmetric (a has b iff b has a), never contains the rank itself and has at most ⌊log2 n⌋ + 2 members.
/// Point-to-point to any other rank connects that pair on first use (see <c>MeshCommunicator</c>). The coordinator uses
/// the same set to send each node only the addresses its ranks connect to.
/// </summary>
public static class PeerTopology
{
    /// <summary>Sorted, distinct partners of <paramref name="rank"/> in a world of <paramref name="n"/> ranks.</summary>
    public static int[] Partners(int rank, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, n);
        var set = new SortedSet<int>();
        if (n > 1)
        {
            set.Add(Left(rank, n));
            set.Add(Right(rank, n));
        }
        var pow2 = LargestPowerOfTwoAtMost(n);
        var extra = n - pow2;
        if (FoldPartner(rank, extra) is { } fold) set.Add(fold);
        if (VirtualRank(rank, extra) is { } v)
            for (var mask = 1; mask < pow2; mask <<= 1) set.Add(RealRank(v ^ mask, extra));
        set.Remove(rank);
        return [.. set];
    }

    public static int Left(int rank, int n) => (rank - 1 + n) % n;

    public static int Right(int rank, int n) => (rank + 1) % n;

    public static int LargestPowerOfTwoAtMost(int n)
    {
        var pow2 = 1;
        while (pow2 <= n / 2) pow2 *= 2;
        return pow2;
    }

    /// <summary>Ranks below 2·extra fold in pairs (even r sends to r+1 first and receives the result from it last).</summary>
    public static int? FoldPartner(int rank, int extra) => rank >= 2 * extra ? null : rank % 2 == 0 ? rank + 1 : rank - 1;

    /// <summary>The rank's index among the 2^k ranks that run the hypercube exchange; null for the even folded-out ranks.</summary>
    public static int? VirtualRank(int rank, int extra) => rank < 2 * extra ? (rank % 2 == 0 ? null : rank / 2) : rank - extra;

    /// <summary>Inverse of <see cref="VirtualRank"/>.</summary>
    public static int RealRank(int virtualRank, int extra) => virtualRank < extra ? virtualRank * 2 + 1 : virtualRank + extra;
}
