using Cluster.Abstractions;
using Cluster.Training.Engine;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

/// <summary>Resuming a reduce-on-plateau schedule replays the evaluation losses it had seen (best loss, patience
/// counter, reductions), so the learning rate after a restart equals the uninterrupted run's.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class ScheduleRestoreTests
{
    private static readonly double[] Losses = [1.0, 0.9, 0.95, 0.97, 0.99, 0.85, 0.9, 0.91];

    private static LearningRateSchedule Plateau(nn.Module model, out optim.Optimizer optimizer, int warmup = 0)
    {
        optimizer = optim.SGD(model.parameters(), 0.1);
        return new LearningRateSchedule(optimizer, new ScheduleSpec { Type = "plateau", Gamma = 0.5, Patience = 1, WarmupSteps = warmup }, 0.1, 1000);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(7)]
    public void Restored_plateau_schedule_follows_the_uninterrupted_one(int epochsBeforeRestart)
    {
        using var model = nn.Linear(2, 2);
        var straight = Plateau(model, out var o1);
        var first = Plateau(model, out var o2);
        for (var e = 0; e < epochsBeforeRestart; e++) { straight.FastForward(10); straight.OnEpochEnd(Losses[e]); first.FastForward(10); first.OnEpochEnd(Losses[e]); }
        var saved = first.ObservedLosses.ToArray();
        Assert.Equal(Losses.Take(epochsBeforeRestart), saved);

        // A restart: a new optimizer whose learning rate was restored at the reduced value, then the schedule's replay.
        var resumed = Plateau(model, out var o3);
        foreach (var g in o3.ParamGroups) g.LearningRate = first.CurrentLr;
        resumed.Restore(10L * epochsBeforeRestart, saved);
        Assert.Equal(straight.CurrentLr, resumed.CurrentLr, 12);
        for (var e = epochsBeforeRestart; e < Losses.Length; e++)
        {
            straight.OnEpochEnd(Losses[e]);
            resumed.OnEpochEnd(Losses[e]);
            Assert.Equal(straight.CurrentLr, resumed.CurrentLr, 12);
        }
        Assert.True(straight.CurrentLr < 0.1, "the loss sequence must trigger at least one reduction");
        foreach (var o in new[] { o1, o2, o3 }) o.Dispose();
    }

    [Fact]
    public void Losses_seen_during_warm_up_are_not_recorded()
    {
        using var model = nn.Linear(2, 2);
        var schedule = Plateau(model, out var optimizer, warmup: 5);
        schedule.OnEpochEnd(1.0); // step 0 < warm-up: ignored
        schedule.FastForward(5);
        schedule.OnEpochEnd(2.0);
        Assert.Equal([2.0], schedule.ObservedLosses);
        optimizer.Dispose();
    }
}
