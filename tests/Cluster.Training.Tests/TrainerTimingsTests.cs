using Cluster.Training.Engine;
using Cluster.Training.Tests.Fakes;
using Xunit;

namespace Cluster.Training.Tests;

/// <summary><see cref="Trainer.Timings"/>: the figures behind `cluster bench ddp` (all-reduce share, data wait, checkpoint stall).</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class TrainerTimingsTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "t1-timings-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    private static async Task<(TrainingResult Result, float[] Weights)[]> RunTwoRanks(TrainerOptions options, string? checkpointDir)
    {
        var spec = TrainerTests.Spec(epochs: 2); // 256 samples, batch 16 per rank, 2 ranks: 8 steps per epoch
        var comms = new ThreadGroup(2).CreateCommunicators();
        // Built one after the other: model initialisation draws from torch's global generator.
        var trainers = comms.Select(c => new Trainer(spec, JobData.Load(spec), c, options.In(checkpointDir, c.Rank, 2))).ToArray();
        try
        {
            var results = await Task.WhenAll(trainers.Select(t => Task.Run(() => t.RunAsync(CancellationToken.None))))
                .WaitAsync(TimeSpan.FromMinutes(2));
            return results.Select((r, i) => (r, trainers[i].Model.parameters().SelectMany(p => p.detach().reshape(-1).data<float>().ToArray()).ToArray())).ToArray();
        }
        finally
        {
            foreach (var t in trainers) t.Dispose();
        }
    }

    [Fact]
    public async Task Timings_cover_every_step_and_a_step_is_checkpointed_at_most_once()
    {
        // Interval 4 → saves at steps 4, 8, 12, 16; steps 8 and 16 are also epoch ends, which must not save again.
        var ranks = await RunTwoRanks(new TrainerOptions { SkipEvaluation = true, CheckpointIntervalSteps = 4 }, dir);
        var (result, weights) = ranks[0];
        var t = result.Timings;
        Assert.Equal(16, result.Steps);
        Assert.Equal(16, t.Steps);
        Assert.Equal(16, t.MicroBatches);
        Assert.True(t.Compute > TimeSpan.Zero && t.GradientSync > TimeSpan.Zero && t.Optimizer > TimeSpan.Zero, $"phases {t.Compute} {t.GradientSync} {t.Optimizer}");
        Assert.True(t.Train >= t.DataWait + t.Compute + t.GradientSync + t.Optimizer, $"train {t.Train} < sum of phases");
        Assert.InRange(t.DataWaitFraction, 0, 1);
        Assert.Equal(4, t.CheckpointSaves);
        Assert.True(t.MaxCheckpointStall > TimeSpan.Zero && t.CheckpointStallMsPerSave <= t.MaxCheckpointStall.TotalMilliseconds);
        Assert.True(t.StepMsExcludingCheckpoints < t.StepMs);
        Assert.Equal(0, ranks[1].Result.Timings.CheckpointSaves);
        Assert.Equal(16, t.SyncedSteps);
        Assert.Equal(0, t.UnsyncedSteps);
        Assert.Empty(t.SyncedStepSamplesMs); // outside benchmarks no per-step samples are kept
        Assert.Equal(weights, ranks[1].Weights); // the all-reduce kept the ranks identical
    }

    [Fact]
    public async Task Alternating_blocks_time_steps_with_and_without_the_all_reduce_in_one_run()
    {
        var ranks = await RunTwoRanks(new TrainerOptions { SkipEvaluation = true, AlternateGradientSyncSteps = 4 }, null);
        var t = ranks[0].Result.Timings;
        Assert.Equal(8, t.SyncedSteps); // steps 0-3 and 8-11 all-reduce, 4-7 and 12-15 do not
        Assert.Equal(8, t.UnsyncedSteps);
        Assert.Equal(4, t.BlockBarriers); // after steps 4, 8, 12 and 16: each block starts with the ranks aligned
        // Every timed step's wall time is kept for the medians, and the samples add up to the summed times.
        Assert.Equal(8, t.SyncedStepSamplesMs.Count);
        Assert.Equal(8, t.UnsyncedStepSamplesMs.Count);
        Assert.All(t.SyncedStepSamplesMs.Concat(t.UnsyncedStepSamplesMs), ms => Assert.True(ms > 0, $"{ms}"));
        Assert.InRange(Math.Abs(t.SyncedStepTime.TotalMilliseconds - t.SyncedStepSamplesMs.Sum()), 0, 0.01);
        Assert.InRange(Math.Abs(t.UnsyncedStepTime.TotalMilliseconds - t.UnsyncedStepSamplesMs.Sum()), 0, 0.01);
        Assert.True(t.SyncedStepMs > 0 && t.UnsyncedStepMs > 0, $"{t.SyncedStepMs} {t.UnsyncedStepMs}");
        Assert.True(t.GradientSync > TimeSpan.Zero);
        Assert.True(t.SyncedStepTime + t.UnsyncedStepTime <= t.Train, "per-step times exceed the training time");
        Assert.NotEqual(ranks[0].Weights, ranks[1].Weights); // the unsynchronised blocks let the ranks drift apart
    }

    [Fact]
    public async Task Timing_warm_up_steps_are_not_counted()
    {
        var ranks = await RunTwoRanks(new TrainerOptions { SkipEvaluation = true, TimingWarmupSteps = 5 }, null);
        Assert.Equal(16, ranks[0].Result.Steps);
        Assert.Equal(11, ranks[0].Result.Timings.Steps);
        Assert.Equal(11, ranks[0].Result.Timings.MicroBatches);
    }
}
