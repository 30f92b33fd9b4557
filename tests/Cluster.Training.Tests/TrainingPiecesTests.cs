using Cluster.Abstractions;
using Cluster.Training.Engine;
using Xunit;
using static TorchSharp.torch;

namespace Cluster.Training.Tests;

public sealed class TrainingPiecesTests
{
    private static (optim.Optimizer Opt, nn.Module Model) Sgd(double lr)
    {
        var model = nn.Linear(2, 2);
        return (optim.SGD(model.parameters(), lr), model);
    }

    [Fact]
    public void Warmup_ramps_linearly_then_hands_over_to_step_decay()
    {
        var (opt, _) = Sgd(0.1);
        var schedule = new LearningRateSchedule(opt, new ScheduleSpec { Type = "step", WarmupSteps = 4, StepSize = 2, Gamma = 0.5 }, 0.1, 100);
        var lrs = new List<double> { schedule.CurrentLr };
        for (var i = 0; i < 8; i++) { schedule.OnOptimizerStep(); lrs.Add(schedule.CurrentLr); }
        double[] expected = [0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025];
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], lrs[i], 9);
    }

    [Fact]
    public void Cosine_reaches_min_lr_at_the_end()
    {
        var (opt, _) = Sgd(0.2);
        var schedule = new LearningRateSchedule(opt, new ScheduleSpec { Type = "cosine", MinLr = 0.01 }, 0.2, 10);
        for (var i = 0; i < 5; i++) schedule.OnOptimizerStep();
        Assert.Equal(0.105, schedule.CurrentLr, 6);
        for (var i = 0; i < 5; i++) schedule.OnOptimizerStep();
        Assert.Equal(0.01, schedule.CurrentLr, 6);
    }

    [Fact]
    public void Plateau_reduces_after_patience_epochs_without_improvement()
    {
        var (opt, _) = Sgd(0.1);
        var schedule = new LearningRateSchedule(opt, new ScheduleSpec { Type = "plateau", Gamma = 0.5, Patience = 1 }, 0.1, 100);
        schedule.OnEpochEnd(1.0);
        schedule.OnEpochEnd(1.0);
        Assert.Equal(0.1, schedule.CurrentLr, 9);
        schedule.OnEpochEnd(1.0);
        Assert.Equal(0.05, schedule.CurrentLr, 9);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("rmsprop")]
    public void Every_optimizer_type_steps(string type)
    {
        using var model = nn.Linear(3, 1);
        using var opt = OptimizerFactory.Create(new OptimizerSpec { Type = type, Lr = 0.1, Momentum = 0.5 }, model.parameters());
        var before = model.weight!.detach().clone();
        using var loss = model.forward(ones(4, 3)).sum();
        loss.backward();
        opt.step();
        Assert.False(before.allclose(model.weight!));
    }

    [Fact]
    public void Metrics_from_confusion_matrix()
    {
        // actual 0: 3 predicted 0, 1 predicted 1; actual 1: 2 predicted 1.
        var result = EvaluationResult.FromConfusion([3, 1, 0, 2], 2, lossSum: 3.0, samples: 6);
        Assert.Equal(5.0 / 6, result.Accuracy, 9);
        Assert.Equal(0.5, result.Loss, 9);
        Assert.Equal(1.0, result.Precision[0], 9);
        Assert.Equal(0.75, result.Recall[0], 9);
        Assert.Equal(2.0 / 3, result.Precision[1], 9);
        Assert.Equal(1.0, result.Recall[1], 9);
        Assert.Equal(2 * 0.75 / 1.75, result.F1[0], 9);
        Assert.Equal(1, result.Confusion[0, 1]);
    }

    [Fact]
    public void Early_stopping_counts_epochs_without_improvement_beyond_min_delta()
    {
        var es = new EarlyStopping(new EarlyStoppingSpec { Metric = "test_accuracy", Patience = 2, MinDelta = 0.01 });
        Assert.True(es.Observe(0.80));
        Assert.True(es.Observe(0.85));
        Assert.False(es.Observe(0.855)); // below min delta
        Assert.False(es.ShouldStop);
        Assert.False(es.Observe(0.84));
        Assert.True(es.ShouldStop);
        Assert.Equal(0.85, es.Best);
    }
}
