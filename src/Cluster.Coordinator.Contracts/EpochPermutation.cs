namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Deterministic per-(seed, epoch) permutation of dataset indices and the slicing of a global cursor
/// among ranks. Position p of the epoch maps to sample <c>Create(seed, epoch, n)[p]</c>; a step of
/// <c>batchPerRank</c> per rank consumes positions [cursor, cursor + batchPerRank * worldSize), rank r
/// taking the r-th contiguous block. Only the cursor needs to be checkpointed, so the world size may change.
/// </summary>
public static class EpochPermutation
{
    /// <summary>Fisher-Yates shuffle of 0..size-1 driven by SplitMix64 seeded from (seed, epoch).</summary>
    public static int[] Create(long seed, int epoch, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var order = new int[size];
        for (var i = 0; i < size; i++) order[i] = i;
        var state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)epoch + 1) * 0xD1B54A32D192ED03UL);
        for (var i = size - 1; i > 0; i--)
        {
            var j = (int)(Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>The half-open range of epoch positions rank <paramref name="rank"/> reads in the step starting at <paramref name="cursor"/>.</summary>
    public static (long Start, long End) RankSlice(long cursor, int batchPerRank, int rank, int worldSize, long epochSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cursor);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchPerRank, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (rank < 0 || rank >= worldSize) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} outside world size {worldSize}");
        var start = Math.Min(epochSize, cursor + (long)rank * batchPerRank);
        var end = Math.Min(epochSize, start + batchPerRank);
        return (start, end);
    }

    /// <summary>Cursor after one step of <paramref name="batchPerRank"/> samples on each of <paramref name="worldSize"/> ranks.</summary>
    public static long Advance(long cursor, int batchPerRank, int worldSize, long epochSize) =>
        Math.Min(epochSize, cursor + (long)batchPerRank * worldSize);

    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
