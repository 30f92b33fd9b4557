using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using Cluster.Cli.Commands.Run;

namespace Cluster.Cli.Commands.Bench;

/// <summary>What `cluster bench ddp` reports: medians over the rounds of rank 0's per-step figures.</summary>
internal sealed record BenchDdpResult
{
    [JsonPropertyName("bench")] public string Bench { get; init; } = "ddp";
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("precision")] public required string Precision { get; init; }
    [JsonPropertyName("workers")] public int Workers { get; init; }
    [JsonPropertyName("threads_per_rank")] public int ThreadsPerRank { get; init; }
    [JsonPropertyName("batch_per_rank")] public int BatchPerRank { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("rounds")] public int Rounds { get; init; }
    [JsonPropertyName("block_steps")] public int BlockSteps { get; init; }
    [JsonPropertyName("sync_step_ms")] public double SyncStepMs { get; init; }
    [JsonPropertyName("nosync_step_ms")] public double NoSyncStepMs { get; init; }
    /// <summary>(step with all-reduce − step without) / step without; both from the same runs.</summary>
    [JsonPropertyName("comm_overhead_fraction")] public double CommOverheadFraction { get; init; }
    [JsonPropertyName("sync_step_median_ms")] public double SyncStepMedianMs { get; init; }
    [JsonPropertyName("nosync_step_median_ms")] public double NoSyncStepMedianMs { get; init; }
    /// <summary>The same overhead from per-step medians (PyTorch's comparison script's method): rare stalls excluded.</summary>
    [JsonPropertyName("comm_overhead_median_fraction")] public double CommOverheadMedianFraction { get; init; }
    [JsonPropertyName("gradient_sync_ms")] public double GradientSyncMs { get; init; }
    /// <summary>The all-reduce call per step that made it (steps without it excluded): transfer plus waiting for the peers.</summary>
    [JsonPropertyName("gradient_sync_ms_per_synced_step")] public double GradientSyncMsPerSyncedStep { get; init; }
    [JsonPropertyName("compute_ms")] public double ComputeMs { get; init; }
    [JsonPropertyName("optimizer_ms")] public double OptimizerMs { get; init; }
    [JsonPropertyName("data_wait_ms")] public double DataWaitMs { get; init; }
    /// <summary>Largest share of step time spent waiting for the loader, over all runs.</summary>
    [JsonPropertyName("data_wait_fraction_max")] public double DataWaitFractionMax { get; init; }
    [JsonPropertyName("checkpoint_saves")] public int CheckpointSaves { get; init; }
    [JsonPropertyName("checkpoint_stall_ms")] public double CheckpointStallMs { get; init; }
    [JsonPropertyName("checkpoint_stall_max_ms")] public double CheckpointStallMaxMs { get; init; }
    /// <summary>Mean stall per save over the mean step time (checkpoints excluded).</summary>
    [JsonPropertyName("checkpoint_stall_fraction")] public double CheckpointStallFraction { get; init; }
    /// <summary>Runs with the per-step vote (of <see cref="Rounds"/>); the figures below are 0 without any.</summary>
    [JsonPropertyName("step_vote_runs")] public int StepVoteRuns { get; init; }
    /// <summary>
    /// The separate vote collective per step (median over the runs with the vote): only steps without the gradient
    /// all-reduce (the no-sync blocks) vote in one; in the others the ballot rides in the all-reduce.
    /// </summary>
    [JsonPropertyName("step_vote_ms")] public double StepVoteMs { get; init; }
    /// <summary>(median step with all-reduce with the vote − without) / without, side by side over alternating runs (target ≤ 1 %).</summary>
    [JsonPropertyName("step_vote_fraction")] public double StepVoteFraction { get; init; }
    /// <summary>Median step with all-reduce in the runs with / without the vote (side by side when the runs alternate).</summary>
    [JsonPropertyName("sync_step_median_ms_vote_on")] public double SyncStepMedianMsVoteOn { get; init; }
    [JsonPropertyName("sync_step_median_ms_vote_off")] public double SyncStepMedianMsVoteOff { get; init; }

    public static BenchDdpResult From(string model, string precision, int workers, int threads, int batch, int steps, int block,
        IReadOnlyList<RunTimings> runs, IReadOnlyList<bool>? voted = null)
    {
        voted ??= [.. runs.Select(_ => false)];
        var on = runs.Where((_, i) => voted[i]).ToList();
        var off = runs.Where((_, i) => !voted[i]).ToList();
        var onMedian = on.Count == 0 ? 0 : Median(on.Select(t => t.SyncedStepMedianMs));
        var offMedian = off.Count == 0 ? 0 : Median(off.Select(t => t.SyncedStepMedianMs));
        var voteMs = on.Count == 0 ? 0 : Median(on.Select(t => t.StepVoteMs));
        var syncMs = Median(runs.Select(t => t.SyncedStepMs));
        var nosyncMs = Median(runs.Select(t => t.UnsyncedStepMs));
        var syncMedian = Median(runs.Select(t => t.SyncedStepMedianMs));
        var nosyncMedian = Median(runs.Select(t => t.UnsyncedStepMedianMs));
        var saves = runs.Sum(t => t.CheckpointSaves);
        var stall = saves == 0 ? 0 : runs.Sum(t => t.CheckpointStallMs * t.CheckpointSaves) / saves;
        var stepMs = Median(runs.Select(t => t.StepMsExcludingCheckpoints));
        return new BenchDdpResult
        {
            Model = model, Precision = precision, Workers = workers, ThreadsPerRank = threads, BatchPerRank = batch, Steps = steps, Rounds = runs.Count,
            BlockSteps = block, SyncStepMs = syncMs, NoSyncStepMs = nosyncMs, CommOverheadFraction = nosyncMs > 0 ? (syncMs - nosyncMs) / nosyncMs : 0,
            SyncStepMedianMs = syncMedian, NoSyncStepMedianMs = nosyncMedian,
            CommOverheadMedianFraction = nosyncMedian > 0 ? (syncMedian - nosyncMedian) / nosyncMedian : 0,
            GradientSyncMs = Median(runs.Select(t => t.GradientSyncMs)), GradientSyncMsPerSyncedStep = Median(runs.Select(t => t.GradientSyncMsPerSyncedStep)),
            ComputeMs = Median(runs.Select(t => t.ComputeMs)),
            OptimizerMs = Median(runs.Select(t => t.OptimizerMs)), DataWaitMs = Median(runs.Select(t => t.DataWaitMs)),
            DataWaitFractionMax = runs.Count == 0 ? 0 : runs.Max(t => t.DataWaitFraction),
            CheckpointSaves = saves, CheckpointStallMs = stall, CheckpointStallMaxMs = runs.Count == 0 ? 0 : runs.Max(t => t.CheckpointStallMaxMs),
            CheckpointStallFraction = stepMs > 0 ? stall / stepMs : 0,
            StepVoteRuns = on.Count, StepVoteMs = voteMs, StepVoteFraction = onMedian > 0 && offMedian > 0 ? (onMedian - offMedian) / offMedian : 0,
            SyncStepMedianMsVoteOn = onMedian, SyncStepMedianMsVoteOff = offMedian,
        };
    }

    public string Describe()
    {
        var b = new StringBuilder();
        b.AppendLine(Line($"# DDP step, model {Model} ({Precision}), {Workers} ranks × {ThreadsPerRank} thread(s), batch {BatchPerRank} per rank, {Steps} timed steps per run, {Rounds} run(s), blocks of {BlockSteps} steps with / without all-reduce"));
        b.AppendLine(Line($"step with gradient all-reduce     {SyncStepMs,9:F2} ms mean, {SyncStepMedianMs:F2} ms median (checkpoint stalls excluded)"));
        b.AppendLine(Line($"step without (no_sync)            {NoSyncStepMs,9:F2} ms mean, {NoSyncStepMedianMs:F2} ms median"));
        b.AppendLine(Line($"communication overhead            {CommOverheadFraction,9:P1}   from means (target <= 10 %; PyTorch DDP gloo measured 15 % on this machine kind)"));
        b.AppendLine(Line($"communication overhead            {CommOverheadMedianFraction,9:P1}   from medians (the method of bench/pytorch/ddp.py)"));
        b.AppendLine(Line($"  gradient all-reduce itself      {GradientSyncMsPerSyncedStep,9:F2} ms per step with all-reduce (transfer + waiting for the slower rank)"));
        b.AppendLine(Line($"  forward + backward              {ComputeMs,9:F2} ms per step (all steps)"));
        b.AppendLine(Line($"  optimizer (+clip, buffers)      {OptimizerMs,9:F2} ms per step"));
        b.AppendLine(Line($"data wait                         {DataWaitMs,9:F3} ms per step, at most {DataWaitFractionMax:P2} of a step (target <= 5 %)"));
        b.Append(Line($"checkpoint stall                  {CheckpointStallMs,9:F2} ms per save ({CheckpointSaves} saves, max {CheckpointStallMaxMs:F2} ms) = {CheckpointStallFraction:P2} of a step (target <= 5 %)"));
        if (StepVoteRuns > 0)
        {
            b.AppendLine();
            b.Append(Line($"step vote (elastic)               {StepVoteFraction,9:P2}   median step with all-reduce {SyncStepMedianMsVoteOn:F2} ms with it ({StepVoteRuns} run(s)) vs {SyncStepMedianMsVoteOff:F2} ms without ({Rounds - StepVoteRuns} run(s)) (target <= 1 %); separate vote in no-sync steps {StepVoteMs:F3} ms per step"));
        }
        return b.ToString();
    }

    private static string Line(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double Median(IEnumerable<double> values) => BenchStats.Median(values.ToArray());
}
