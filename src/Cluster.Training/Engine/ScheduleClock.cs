using Cluster.Training.Data;

namespace Cluster.Training.Engine;

/// <summary>
/// The learning-rate schedule's time, as a function of the samples consumed rather than of the optimizer steps taken,
/// so the schedule does not jump when the world size changes. Its unit is a reference step: one global batch of the
/// world size the job started with (<see cref="ReferenceWorld"/>; batch size × accumulation × that world size), and
/// the spec's step counts (warm-up, step size, the horizon) are counted in it. At the starting world size a reference
/// step is exactly one optimizer step (a padded final step of an epoch counts as one).
/// </summary>
internal sealed record ScheduleClock
{
    public ScheduleClock(long epochLength, int batchSize, int accumulation, int referenceWorld)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epochLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceWorld, 1);
        EpochLength = epochLength;
        ReferenceWorld = referenceWorld;
        ReferenceBatch = (long)batchSize * accumulation * referenceWorld;
    }

    public long EpochLength { get; }

    /// <summary>The world size the job started with (kept in the trainer progress across resumes).</summary>
    public int ReferenceWorld { get; }

    public long ReferenceBatch { get; }

    /// <summary>Reference steps in one epoch.</summary>
    public long StepsPerEpoch => CeilDiv(EpochLength, ReferenceBatch);

    /// <summary>Reference steps elapsed when the data cursor stands at <paramref name="cursor"/>.</summary>
    public long StepsAt(SamplerCursor cursor) => cursor.Epoch * StepsPerEpoch + CeilDiv(Math.Min(cursor.GlobalPosition, EpochLength), ReferenceBatch);

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
