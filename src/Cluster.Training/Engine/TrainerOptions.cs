using Cluster.Coordinator.Contracts;
using Cluster.Training.Checkpoints;
using Cluster.Training.Distributed;

namespace Cluster.Training.Engine;

/// <summary>Runtime settings of a <see cref="Trainer"/> that are not part of the job spec.</summary>
public sealed record TrainerOptions
{
    /// <summary>Human-readable progress lines (rank 0 only logs epoch summaries; every rank logs warnings).</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Where checkpoints are committed (the coordinator's two-phase commit, or a local one); null: no checkpoints.
    /// Saves happen every <see cref="CheckpointIntervalSteps"/> steps, at the end of every epoch and at the last step.</summary>
    public ICheckpointCommitter? Checkpoints { get; init; }
    public int CheckpointIntervalSteps { get; init; }
    /// <summary>A committed checkpoint to start from (verified byte for byte while loading); null: start fresh.</summary>
    public CheckpointManifest? RestoreFrom { get; init; }
    public DdpOptions Ddp { get; init; } = new();
    /// <summary>Loader threads per rank.</summary>
    public int LoaderWorkers { get; init; } = 2;
    /// <summary>Skip the per-epoch evaluation (tests that compare weights only).</summary>
    public bool SkipEvaluation { get; init; }
    /// <summary>Benchmark only: alternate blocks of this many optimizer steps with and without the gradient all-reduce
    /// (0: off), so both kinds of step are timed in one run under the same conditions (<see cref="StepTimings.SyncedStepMs"/>,
    /// <see cref="StepTimings.UnsyncedStepMs"/>). Ranks diverge; never set it for real training.</summary>
    public int AlternateGradientSyncSteps { get; init; }
    /// <summary>Benchmarks: <see cref="Trainer.Timings"/> start counting after this many optimizer steps (0: from the start).</summary>
    public long TimingWarmupSteps { get; init; }
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
    /// <summary>Awaited on the training thread after every optimizer step (coordinated ranks: progress reports and
    /// checkpoint consensus at the step boundary).</summary>
    public Func<TrainerStep, CancellationToken, Task>? StepCompleted { get; init; }
    /// <summary>
    /// The per-step vote (elastic jobs): asked on every rank before the gradient all-reduce; the ballot rides in it (one
    /// float after the last bucket's gradients), so every rank that completes the all-reduce knows every rank's ballot at
    /// no extra collective (a step without all-reduce, e.g. a benchmark's no-sync block, votes in a separate one). When any
    /// rank answers true (its generation is to end at a step boundary: a rank is being admitted), every rank applies this
    /// step and <see cref="Trainer.RunAsync"/> throws <see cref="GenerationEndedException"/> after it. Null: no vote.
    /// </summary>
    public Func<bool>? StepVote { get; init; }
    /// <summary>The sample-consumption audit (spec <c>training.audit</c>): what every micro-batch read, and every step's outcome.</summary>
    public Audit.SampleAudit? Audit { get; init; }
}
