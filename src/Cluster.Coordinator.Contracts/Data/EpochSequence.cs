namespace Cluster.Coordinator.Contracts.Data;

/// <summary>
/// The data plan of a job, the one implementation used by the ranks' sampler and by the coordinator: each epoch has one
/// global sequence of dataset indices derived only from (seed, epoch), and a global cursor into it
/// (<see cref="EpochPlan"/>). A step of <c>batch</c> samples per rank on <c>world</c> ranks consumes the positions
/// [cursor, cursor + world · batch); rank r takes the r-th block of <c>batch</c>. Positions at or beyond the sequence's
/// length exist only in a padded final step; they wrap to the start and are padding (<see cref="RealCount"/>).
/// Because cursors advance in multiples of <c>batch</c>, the blocks a rank reads are the same batch-sized blocks of the
/// sequence whatever the world size: only which step they fall into changes.
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

    /// <summary>The first position rank <paramref name="rank"/> reads in the step that starts at <paramref name="cursor"/>.</summary>
    public static long RankStart(long cursor, int batch, int rank, int world)
    {
        Check(cursor, batch, world);
        if ((uint)rank >= (uint)world) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {world}).");
        return cursor + (long)rank * batch;
    }

    /// <summary>The cursor after one step from <paramref name="cursor"/> (capped at the sequence's length).</summary>
    public static long Advance(long cursor, int batch, int world, long length)
    {
        Check(cursor, batch, world);
        return Math.Min(length, cursor + (long)world * batch);
    }

    /// <summary>How many of the <paramref name="count"/> positions from <paramref name="start"/> are real samples, not padding.</summary>
    public static int RealCount(long start, int count, long length) => (int)Math.Clamp(length - start, 0, count);

    /// <summary>Global steps left from <paramref name="cursor"/>: a partial final step is dropped or padded.</summary>
    public static int StepsRemaining(long cursor, int batch, int world, long length, bool dropLast)
    {
        Check(cursor, batch, world);
        var stepSize = (long)world * batch;
        var remaining = Math.Max(0, length - cursor);
        return (int)(remaining / stepSize + (!dropLast && remaining % stepSize != 0 ? 1 : 0));
    }

    private static ulong SeedOf(ulong seed, int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return SplitMix64.Combine(seed, SequenceStream, (ulong)epoch);
    }

    private static void Check(long cursor, int batch, int world)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cursor);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(world, 1);
    }
}
