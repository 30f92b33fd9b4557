namespace Cluster.Abstractions;

/// <summary>
/// What to train and how. <see cref="BatchSize"/> is the most samples one rank holds in one micro-batch; the global batch
/// (samples per optimizer step over all ranks) is <see cref="GlobalBatch"/>, or BatchSize × GradAccumulation × the world
/// size the job started with, and <see cref="Scaling"/> says what happens to it when the world size changes.
/// </summary>
public sealed class TrainingSpec
{
    public static readonly IReadOnlyList<string> Precisions = ["fp32", "bf16"];

    public ModelSpec Model { get; set; } = new();
    public DatasetSpec Dataset { get; set; } = new();
    public int Epochs { get; set; } = 1;
    public int BatchSize { get; set; } = 64;
    /// <summary>Samples per optimizer step over all ranks (0: BatchSize × GradAccumulation × the starting world size); only with scaling.batch global.</summary>
    public int GlobalBatch { get; set; }

    /// <summary>
    /// Samples per optimizer step at <paramref name="world"/> ranks of a job that started with <paramref name="startWorld"/>:
    /// per-rank scaling, <c>batchSize × gradAccumulation × world</c>; global, <see cref="GlobalBatch"/> or (0)
    /// <c>batchSize × gradAccumulation × startWorld</c> at any world size.
    /// </summary>
    public int GlobalBatchAt(int world, int startWorld) =>
        checked(Scaling.IsPerRank() ? BatchSize * GradAccumulation * world : GlobalBatch > 0 ? GlobalBatch : BatchSize * GradAccumulation * startWorld);
    public ScalingSpec Scaling { get; set; } = new();
    public OptimizerSpec Optimizer { get; set; } = new();
    public ScheduleSpec Schedule { get; set; } = new();
    public int GradAccumulation { get; set; } = 1;
    /// <summary>Clip gradients to this global L2 norm (0: no clipping).</summary>
    public double ClipGradNorm { get; set; }
    public string Precision { get; set; } = "fp32";
    public EarlyStoppingSpec? EarlyStopping { get; set; }
    public AugmentationSpec Augmentation { get; set; } = new();
    public long Seed { get; set; } = 42;
    /// <summary>Stop after this many optimizer steps in total (0: no limit).</summary>
    public long MaxSteps { get; set; }
    /// <summary>Use only the first N training / test samples (0: all).</summary>
    public int SubsetTrain { get; set; }
    public int SubsetTest { get; set; }
    /// <summary>Steps with a non-finite loss or gradient are skipped; the job fails after more than this many in total.</summary>
    public int NanTolerance { get; set; } = 3;
    public FinetuneSpec? Finetune { get; set; }
    public DdpSpec Ddp { get; set; } = new();
    /// <summary>
    /// A directory where every rank process of a coordinated job records the dataset indices of every micro-batch it read
    /// and the outcome of every step (the sample-consumption audit; null: off). Only for checks: one write per micro-batch.
    /// </summary>
    public string? Audit { get; set; }

    internal void Validate(string path, List<JobSpecError> errors)
    {
        Model.Validate($"{path}.model", errors);
        Dataset.Validate($"{path}.dataset", errors);
        if (Epochs < 1) errors.Add(new($"{path}.epochs", $"must be >= 1 (got {Epochs})"));
        if (BatchSize < 1) errors.Add(new($"{path}.batchSize", $"must be >= 1 (got {BatchSize})"));
        if (GlobalBatch < 0 || GlobalBatch > 1 << 30) errors.Add(new($"{path}.globalBatch", $"must be in [0, 2^30] (got {GlobalBatch})"));
        Scaling.Validate($"{path}.scaling", errors);
        if (GlobalBatch > 0 && Scaling.IsPerRank()) errors.Add(new($"{path}.globalBatch", "is for scaling.batch global; with per-rank the global batch is batchSize × gradAccumulation × the world size"));
        Optimizer.Validate($"{path}.optimizer", errors);
        Schedule.Validate($"{path}.schedule", errors);
        if (GradAccumulation < 1) errors.Add(new($"{path}.gradAccumulation", $"must be >= 1 (got {GradAccumulation})"));
        SpecChecks.NonNegative($"{path}.clipGradNorm", ClipGradNorm, errors);
        SpecChecks.OneOf($"{path}.precision", Precision, Precisions, errors);
        EarlyStopping?.Validate($"{path}.earlyStopping", errors);
        Augmentation.Validate($"{path}.augmentation", errors);
        if (MaxSteps < 0) errors.Add(new($"{path}.maxSteps", $"must be >= 0 (got {MaxSteps})"));
        if (SubsetTrain < 0) errors.Add(new($"{path}.subsetTrain", $"must be >= 0 (got {SubsetTrain})"));
        if (SubsetTest < 0) errors.Add(new($"{path}.subsetTest", $"must be >= 0 (got {SubsetTest})"));
        if (NanTolerance < 0) errors.Add(new($"{path}.nanTolerance", $"must be >= 0 (got {NanTolerance})"));
        Finetune?.Validate($"{path}.finetune", errors);
        Ddp.Validate($"{path}.ddp", errors);
    }
}
