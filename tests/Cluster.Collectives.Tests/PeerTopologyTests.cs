using Xunit;

namespace Cluster.Collectives.Tests;

/// <summary>The partner set is symmetric, small, and covers every pair the algorithms use. The pairs are derived here
/// independently of <see cref="PeerTopology"/> from the algorithms' own definitions.</summary>
public sealed class PeerTopologyTests
{
    public static TheoryData<int> Worlds()
    {
        var data = new TheoryData<int>();
        for (var n = 1; n <= 64; n++) data.Add(n);
        return data;
    }

    [Theory]
    [MemberData(nameof(Worlds))]
    public void Partners_are_symmetric_exclude_self_and_stay_within_log2_plus_2(int n)
    {
        var bound = n == 1 ? 0 : Math.Log2(n) + 2;
        for (var r = 0; r < n; r++)
        {
            var partners = PeerTopology.Partners(r, n);
            Assert.DoesNotContain(r, partners);
            Assert.Equal(partners.Distinct().Order(), partners);
            Assert.All(partners, p => Assert.InRange(p, 0, n - 1));
            Assert.True(partners.Length <= bound, $"rank {r} of {n} has {partners.Length} partners, bound {bound:F2}");
            foreach (var p in partners) Assert.Contains(r, PeerTopology.Partners(p, n));
        }
    }

    [Theory]
    [MemberData(nameof(Worlds))]
    public void Every_pair_an_algorithm_uses_is_a_partner_pair(int n)
    {
        var used = RingAndChainPairs(n).Concat(RecursiveDoublingPairs(n)).ToHashSet();
        foreach (var (a, b) in used)
        {
            Assert.NotEqual(a, b);
            Assert.Contains(b, PeerTopology.Partners(a, n));
        }
        // ... and nothing else: the set is exactly the union of what the algorithms use.
        var expected = Enumerable.Range(0, n).Sum(r => PeerTopology.Partners(r, n).Length);
        Assert.Equal(expected, used.Count);
    }

    [Fact]
    public void Partners_at_16_and_6_ranks_are_the_ring_neighbours_plus_the_recursive_doubling_partners()
    {
        Assert.Equal([1, 2, 4, 8, 15], PeerTopology.Partners(0, 16));
        Assert.Equal([1, 2, 4, 7, 11], PeerTopology.Partners(3, 16)); // ring 2, 4; hypercube 3⊕1, 3⊕2, 3⊕4, 3⊕8
        Assert.Equal([0, 2, 3, 4], PeerTopology.Partners(1, 6));      // 6 = 4 + 2: fold 0, ring 0 and 2, virtual 0 ↔ virtual 1 (rank 3), 2 (rank 4)
    }

    /// <summary>Pipelined ring (all-reduce, reduce-scatter, all-gather): r sends to r+1, receives from r−1. Chain
    /// broadcast from every root: r receives from r−1 unless it is the root, sends to r+1 unless it is last.</summary>
    private static IEnumerable<(int, int)> RingAndChainPairs(int n)
    {
        if (n < 2) yield break;
        for (var r = 0; r < n; r++)
        {
            yield return (r, (r + 1) % n);
            yield return ((r + 1) % n, r);
        }
    }

    /// <summary>The recursive-doubling schedule as the small all-reduce and the barrier run it (both directions of every exchange).</summary>
    private static IEnumerable<(int, int)> RecursiveDoublingPairs(int n)
    {
        var pow2 = 1;
        while (pow2 * 2 <= n) pow2 *= 2;
        var extra = n - pow2;
        for (var rank = 0; rank < n; rank++)
        {
            if (rank < 2 * extra)
            {
                var fold = rank % 2 == 0 ? rank + 1 : rank - 1;
                yield return (rank, fold);
                if (rank % 2 == 0) continue;
            }
            var newRank = rank < 2 * extra ? rank / 2 : rank - extra;
            for (var mask = 1; mask < pow2; mask <<= 1)
            {
                var partnerNew = newRank ^ mask;
                yield return (rank, partnerNew < extra ? partnerNew * 2 + 1 : partnerNew + extra);
            }
        }
    }
}
