using Cluster.Training.Data;

namespace Cluster.Training.Engine;

/// <summary>
/// The learning-rate schedule's time, as a function of the samples consumed rather than of the optimizer steps taken,
/// so the schedule does not jump when the world size changes. Its unit is a reference step: one global batch
/// (<see cref="ReferenceBatch"/>: the spec's global batch, or with per-rank scaling batch size × accumulation × the
/// world size the job started with, <see cref="ReferenceWorld"/>), and the spec's step counts (warm-up, step size, the
/// horizon) are counted in it. With a global batch a reference step is exactly one optimizer step at any world size,
/// with per-rank scaling at the starting one (the shorter final step of an epoch counts as one).
/// </summary>
internal sealed record ScheduleClock
{
    public ScheduleClock(long epochLength, long referenceBatch, int referenceWorld)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(epochLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(referenceWorld, 1);
        EpochLength = epochLength;
        ReferenceWorld = referenceWorld;
        ReferenceBatch = referenceBatch;
    }

    /// <summary>The clock of <paramref name="spec"/> for an epoch of <paramref name="epochLength"/> samples and a job that started with <paramref name="referenceWorld"/> ranks.</summary>
    public static ScheduleClock Of(Cluster.Abstractions.TrainingSpec spec, long epochLength, int referenceWorld) =>
        new(epochLength, spec.GlobalBatchAt(referenceWorld, referenceWorld), referenceWorld);

    public long EpochLength { get; }

    /// <summary>The world size the job started with (kept in the trainer progress across resumes): the default global batch and per-rank scaling's reference.</summary>
    public int ReferenceWorld { get; }

    public long ReferenceBatch { get; }

    /// <summary>Reference steps in one epoch.</summary>
    public long StepsPerEpoch => CeilDiv(EpochLength, ReferenceBatch);

    /// <summary>The schedule's horizon in reference steps: every epoch of <paramref name="spec"/>, at most its <c>maxSteps</c>.</summary>
    public long TotalSteps(Cluster.Abstractions.TrainingSpec spec) =>
        spec.MaxSteps > 0 ? Math.Min(StepsPerEpoch * spec.Epochs, spec.MaxSteps) : StepsPerEpoch * spec.Epochs;

    /// <summary>The learning-rate factor at <paramref name="world"/> ranks: linear in the world size with per-rank scaling, else 1.</summary>
    public double LearningRateScale(Cluster.Abstractions.TrainingSpec spec, int world) =>
        spec.Scaling.IsPerRank() ? (double)world / ReferenceWorld : 1;

    /// <summary>Reference steps elapsed when the data cursor stands at <paramref name="cursor"/>.</summary>
    public long StepsAt(SamplerCursor cursor) => cursor.Epoch * StepsPerEpoch + CeilDiv(Math.Min(cursor.GlobalPosition, EpochLength), ReferenceBatch);

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
