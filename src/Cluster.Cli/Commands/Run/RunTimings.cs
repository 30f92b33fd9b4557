using System.Text.Json.Serialization;
using Cluster.Training.Engine;

namespace Cluster.Cli.Commands.Run;

/// <summary>Rank 0's <see cref="StepTimings"/> in the `cluster run --json` summary (milliseconds per optimizer step).</summary>
internal sealed record RunTimings
{
    [JsonPropertyName("step_ms")] public double StepMs { get; init; }
    [JsonPropertyName("step_ms_excluding_checkpoints")] public double StepMsExcludingCheckpoints { get; init; }
    [JsonPropertyName("synced_step_ms")] public double SyncedStepMs { get; init; }
    [JsonPropertyName("unsynced_step_ms")] public double UnsyncedStepMs { get; init; }
    [JsonPropertyName("synced_step_median_ms")] public double SyncedStepMedianMs { get; init; }
    [JsonPropertyName("unsynced_step_median_ms")] public double UnsyncedStepMedianMs { get; init; }
    [JsonPropertyName("data_wait_ms")] public double DataWaitMs { get; init; }
    [JsonPropertyName("data_wait_fraction")] public double DataWaitFraction { get; init; }
    [JsonPropertyName("compute_ms")] public double ComputeMs { get; init; }
    [JsonPropertyName("gradient_sync_ms")] public double GradientSyncMs { get; init; }
    [JsonPropertyName("gradient_sync_ms_per_synced_step")] public double GradientSyncMsPerSyncedStep { get; init; }
    [JsonPropertyName("gradient_sync_fraction")] public double GradientSyncFraction { get; init; }
    [JsonPropertyName("optimizer_ms")] public double OptimizerMs { get; init; }
    /// <summary>The per-step vote of elastic jobs (0 when it did not run).</summary>
    [JsonPropertyName("step_vote_ms")] public double StepVoteMs { get; init; }
    [JsonPropertyName("checkpoint_saves")] public int CheckpointSaves { get; init; }
    [JsonPropertyName("checkpoint_stall_ms")] public double CheckpointStallMs { get; init; }
    [JsonPropertyName("checkpoint_stall_max_ms")] public double CheckpointStallMaxMs { get; init; }

    public static RunTimings From(StepTimings t) => new()
    {
        StepMs = t.StepMs, StepMsExcludingCheckpoints = t.StepMsExcludingCheckpoints, SyncedStepMs = t.SyncedStepMs, UnsyncedStepMs = t.UnsyncedStepMs,
        SyncedStepMedianMs = MedianOrZero(t.SyncedStepSamplesMs), UnsyncedStepMedianMs = MedianOrZero(t.UnsyncedStepSamplesMs),
        DataWaitMs = t.DataWaitMsPerStep, DataWaitFraction = t.DataWaitFraction, ComputeMs = t.ComputeMsPerStep,
        GradientSyncMs = t.GradientSyncMsPerStep, GradientSyncMsPerSyncedStep = t.GradientSyncMsPerSyncedStep, GradientSyncFraction = t.GradientSyncFraction, OptimizerMs = t.OptimizerMsPerStep, StepVoteMs = t.StepVoteMsPerStep,
        CheckpointSaves = t.CheckpointSaves, CheckpointStallMs = t.CheckpointStallMsPerSave,
        CheckpointStallMaxMs = t.MaxCheckpointStall.TotalMilliseconds,
    };

    /// <summary>0 when no samples were kept (JSON has no NaN).</summary>
    private static double MedianOrZero(IReadOnlyList<double> samples) => samples.Count == 0 ? 0 : Bench.BenchStats.Median([.. samples]);
}
