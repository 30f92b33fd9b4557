namespace Cluster.Coordinator.Contracts.Data;

/// <summary>
/// How the steps of an epoch split over the ranks: the one step plan of the job (with <see cref="EpochSequence"/>, the one
/// data plan). A step consumes the <see cref="GlobalBatch"/> consecutive positions [p, p + G) of the epoch's sequence (the
/// last step of an epoch the positions left, or none with <see cref="DropLast"/>). Its R positions form
/// <c>A = ⌈R / (W · MaxPerRank)⌉</c> micro-batches of near-equal size (gradient accumulation), so no rank ever holds more
/// than <see cref="MaxPerRank"/> samples at once; micro-batch m's positions split over the W ranks in near-equal
/// consecutive blocks (rank r takes ⌊n/W⌋ or one more). A rank whose block is empty (fewer positions than ranks) gets one
/// padding position (the micro-batch's first, weight 0). When G = W · MaxPerRank · A every block has MaxPerRank positions.
/// </summary>
public sealed record BatchPlan
{
    public BatchPlan(int globalBatch, int maxPerRank, int world, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(globalBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerRank, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(world, 1);
        GlobalBatch = globalBatch;
        MaxPerRank = maxPerRank;
        World = world;
        DropLast = dropLast;
    }

    /// <summary>G: positions one (full) optimizer step consumes over all ranks.</summary>
    public int GlobalBatch { get; }

    /// <summary>The most samples of one rank in one micro-batch (its memory bound).</summary>
    public int MaxPerRank { get; }

    public int World { get; }

    public bool DropLast { get; }

    /// <summary>Micro-batches of a full step.</summary>
    public int Accumulation => MicroBatchesOf(GlobalBatch);

    /// <summary>Optimizer steps left in an epoch of <paramref name="length"/> positions from <paramref name="position"/>.</summary>
    public long StepsRemaining(long position, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        var left = Math.Max(0, length - position);
        return left / GlobalBatch + (!DropLast && left % GlobalBatch != 0 ? 1 : 0);
    }

    /// <summary>Rank <paramref name="rank"/>'s micro-batches, in order, from <paramref name="position"/> to the end of an epoch of <paramref name="length"/> positions.</summary>
    public IReadOnlyList<MicroBatch> MicroBatches(long position, long length, int rank)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        if ((uint)rank >= (uint)World) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {World}).");
        var list = new List<MicroBatch>();
        for (var p = position; p < length;)
        {
            var real = (int)Math.Min(GlobalBatch, length - p);
            if (real < GlobalBatch && DropLast) break;
            var count = MicroBatchesOf(real);
            var start = p;
            for (var m = 0; m < count; m++)
            {
                var size = real / count + (m < real % count ? 1 : 0);
                var (offset, share) = Share(size, rank, World);
                list.Add(new MicroBatch(p, real, count, m, start, size, share == 0 ? start : start + offset, Math.Max(1, share), share));
                start += size;
            }
            p += real;
        }
        return list;
    }

    /// <summary>Rank <paramref name="rank"/>'s block of <paramref name="size"/> positions split over <paramref name="world"/> ranks: its offset and length.</summary>
    public static (int Offset, int Count) Share(int size, int rank, int world)
    {
        var q = size / world;
        var rem = size % world;
        return (rank * q + Math.Min(rank, rem), q + (rank < rem ? 1 : 0));
    }

    private int MicroBatchesOf(int real) => (int)((real + (long)World * MaxPerRank - 1) / ((long)World * MaxPerRank));
}

/// <summary>
/// One rank's micro-batch: micro-batch <see cref="Index"/> of the <see cref="StepMicroBatches"/> of the step that starts at
/// <see cref="StepStart"/> and holds <see cref="StepReal"/> positions; the micro-batch holds [<see cref="Start"/>,
/// <see cref="Start"/> + <see cref="Size"/>), of which this rank reads <see cref="RankCount"/> positions from
/// <see cref="RankStart"/>, the first <see cref="RankValid"/> of them real (the rest padding, weight 0).
/// </summary>
public readonly record struct MicroBatch(long StepStart, int StepReal, int StepMicroBatches, int Index, long Start, int Size, long RankStart, int RankCount, int RankValid)
{
    public bool LastOfStep => Index == StepMicroBatches - 1;

    /// <summary>The position after this micro-batch.</summary>
    public long End => Start + Size;

    /// <summary>Every micro-batch of the step has the same size and every rank the same share without padding (the plain mean is exact).</summary>
    public bool UniformStep(int world) => StepReal % ((long)StepMicroBatches * world) == 0;
}
