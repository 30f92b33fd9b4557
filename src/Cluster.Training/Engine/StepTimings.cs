namespace Cluster.Training.Engine;

/// <summary>
/// Where one rank's training time went, summed over the run (the figures behind the DDP-overhead, data-loader and
/// checkpoint-stall benchmarks). Phases of an optimizer step: waiting for the next batch (<see cref="DataWait"/>),
/// forward + loss + backward of every micro-batch (<see cref="Compute"/>), the gradient all-reduce
/// (<see cref="GradientSync"/>), clipping + optimizer + schedule + BatchNorm buffer sync (<see cref="Optimizer"/>), and the
/// checkpoint snapshot that blocks the training thread (<see cref="CheckpointStall"/>; rank 0, the background write is
/// not counted). <see cref="Train"/> is the wall time of the training epochs (evaluation excluded).
/// </summary>
public sealed class StepTimings
{
    private readonly List<double>? syncedSamples;
    private readonly List<double>? unsyncedSamples;

    /// <param name="keepStepSamples">Keep every step's wall time (benchmarks, for medians; 8 bytes per step).</param>
    public StepTimings(bool keepStepSamples = false)
    {
        if (!keepStepSamples) return;
        syncedSamples = new List<double>(1024);
        unsyncedSamples = new List<double>(1024);
    }

    /// <summary>Wall time (ms) of every step with / without the all-reduce, when kept (<c>keepStepSamples</c>); else empty.
    /// Unlike the means, their medians are not moved by a rare stall of the host or a peer.</summary>
    public IReadOnlyList<double> SyncedStepSamplesMs => (IReadOnlyList<double>?)syncedSamples ?? [];
    public IReadOnlyList<double> UnsyncedStepSamplesMs => (IReadOnlyList<double>?)unsyncedSamples ?? [];

    /// <summary>Optimizer steps timed (skipped non-finite steps are not counted).</summary>
    public long Steps => SyncedSteps + UnsyncedSteps;
    public long MicroBatches { get; internal set; }
    public TimeSpan Train { get; internal set; }
    public TimeSpan DataWait { get; internal set; }
    public TimeSpan Compute { get; internal set; }
    public TimeSpan GradientSync { get; internal set; }
    public TimeSpan Optimizer { get; internal set; }
    /// <summary>The per-step vote of elastic jobs (<see cref="TrainerOptions.StepVote"/>): one small all-reduce per step.</summary>
    public TimeSpan StepVote { get; internal set; }
    /// <summary>Optimizer steps that did / did not all-reduce gradients, and their summed wall time (from waiting for the
    /// step's first batch to the end of the optimizer step; checkpoints excluded).</summary>
    public long SyncedSteps { get; internal set; }
    public TimeSpan SyncedStepTime { get; internal set; }
    public long UnsyncedSteps { get; internal set; }
    public TimeSpan UnsyncedStepTime { get; internal set; }
    /// <summary>Benchmarks with alternating blocks: barriers that aligned the ranks at a block boundary (outside the timed steps).</summary>
    public int BlockBarriers { get; internal set; }
    public int CheckpointSaves { get; internal set; }
    public TimeSpan CheckpointStall { get; internal set; }
    public TimeSpan MaxCheckpointStall { get; internal set; }

    /// <summary>Mean wall time of one optimizer step (training time / steps).</summary>
    public double StepMs => Steps == 0 ? 0 : Train.TotalMilliseconds / Steps;
    /// <summary>Mean step time without the checkpoint stalls (what a step costs between checkpoints).</summary>
    public double StepMsExcludingCheckpoints => Steps == 0 ? 0 : (Train - CheckpointStall).TotalMilliseconds / Steps;
    public double SyncedStepMs => SyncedSteps == 0 ? 0 : SyncedStepTime.TotalMilliseconds / SyncedSteps;
    public double UnsyncedStepMs => UnsyncedSteps == 0 ? 0 : UnsyncedStepTime.TotalMilliseconds / UnsyncedSteps;
    public double DataWaitMsPerStep => PerStep(DataWait);
    public double ComputeMsPerStep => PerStep(Compute);
    public double GradientSyncMsPerStep => PerStep(GradientSync);
    /// <summary>The all-reduce's time per step that ran it (differs from <see cref="GradientSyncMsPerStep"/> only when some steps skipped it).</summary>
    public double GradientSyncMsPerSyncedStep => SyncedSteps == 0 ? 0 : GradientSync.TotalMilliseconds / SyncedSteps;
    public double OptimizerMsPerStep => PerStep(Optimizer);
    public double StepVoteMsPerStep => PerStep(StepVote);
    /// <summary>Share of the training time spent waiting for data (target ≤ 5 %).</summary>
    public double DataWaitFraction => Train > TimeSpan.Zero ? DataWait / Train : 0;
    /// <summary>Share of the training time spent in the gradient all-reduce.</summary>
    public double GradientSyncFraction => Train > TimeSpan.Zero ? GradientSync / Train : 0;
    public double CheckpointStallMsPerSave => CheckpointSaves == 0 ? 0 : CheckpointStall.TotalMilliseconds / CheckpointSaves;

    internal void Reset()
    {
        MicroBatches = SyncedSteps = UnsyncedSteps = 0;
        Train = DataWait = Compute = GradientSync = Optimizer = StepVote = CheckpointStall = MaxCheckpointStall = SyncedStepTime = UnsyncedStepTime = TimeSpan.Zero;
        CheckpointSaves = BlockBarriers = 0;
        syncedSamples?.Clear();
        unsyncedSamples?.Clear();
    }

    internal void RecordStep(bool synced, TimeSpan took)
    {
        if (synced)
        {
            SyncedSteps++;
            SyncedStepTime += took;
            syncedSamples?.Add(took.TotalMilliseconds);
        }
        else
        {
            UnsyncedSteps++;
            UnsyncedStepTime += took;
            unsyncedSamples?.Add(took.TotalMilliseconds);
        }
    }

    private double PerStep(TimeSpan total) => Steps == 0 ? 0 : total.TotalMilliseconds / Steps;
}
