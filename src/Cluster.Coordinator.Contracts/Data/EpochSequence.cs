namespace Cluster.Coordinator.Contracts.Data;

/// <summary>
/// The data plan of a job, the one implementation used by the ranks' sampler and by the coordinator: each epoch has one
/// global sequence of dataset indices derived only from (seed, epoch), and a global cursor into it
/// (<see cref="EpochPlan"/>). How a step's positions split into micro-batches and over the ranks is the
/// <see cref="BatchPlan"/>.
/// </summary>
public static class EpochSequence
{
    private const ulong SequenceStream = 0xE90C_4UL;

    /// <summary>A uniform permutation of 0..length-1 (Fisher–Yates on <see cref="SplitMix64"/>) keyed by (seed, epoch).</summary>
    public static int[] Shuffled(ulong seed, int epoch, int length) => Permutation.Create(length, SeedOf(seed, epoch));

    /// <summary>0..length-1 in order (no shuffling).</summary>
    public static int[] InOrder(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var order = new int[length];
        for (var i = 0; i < length; i++) order[i] = i;
        return order;
    }

    /// <summary>
    /// <paramref name="length"/> draws with replacement, index i with probability proportional to its weight, keyed by
    /// (seed, epoch). <paramref name="cumulative"/> holds the running sums of the weights (the last one is the total).
    /// </summary>
    public static int[] Weighted(ulong seed, int epoch, ReadOnlySpan<double> cumulative, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (cumulative.IsEmpty || !(cumulative[^1] > 0)) throw new ArgumentException("The weights must have a positive sum.", nameof(cumulative));
        var rng = new SplitMix64(SeedOf(seed, epoch));
        var draws = new int[length];
        var total = cumulative[^1];
        for (var i = 0; i < draws.Length; i++)
        {
            var u = rng.NextDouble() * total;
            var k = cumulative.BinarySearch(u);
            k = k >= 0 ? k + 1 : ~k; // first index whose running sum exceeds u
            while (k < cumulative.Length - 1 && cumulative[k] <= u) k++;
            draws[i] = Math.Min(k, cumulative.Length - 1);
        }
        return draws;
    }

    private static ulong SeedOf(ulong seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return SplitMix64.Combine(seed, SequenceStream, (ulong)epoch);
    }
}
