using Cluster.Abstractions;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.optim.lr_scheduler;

namespace Cluster.Training.Engine;

/// <summary>
/// Linear warm-up in front of a TorchSharp LR scheduler. For the first <see cref="ScheduleSpec.WarmupSteps"/> optimizer
/// steps the learning rate ramps linearly from base/warmup to base; afterwards the inner scheduler (StepLR,
/// ExponentialLR, CosineAnnealingLR, OneCycleLR) is stepped once per optimizer step, counting from the end of warm-up.
/// ReduceLROnPlateau is stepped once per epoch with the evaluation loss (<see cref="OnEpochEnd"/>).
/// </summary>
public sealed class LearningRateSchedule
{
    private readonly optim.Optimizer optimizer;
    private readonly ScheduleSpec spec;
    private readonly double baseLr;
    private readonly LRScheduler? inner;
    private readonly List<double> observed = [];
    private long step;

    public LearningRateSchedule(optim.Optimizer optimizer, ScheduleSpec spec, double baseLr, long totalSteps)
    {
        this.optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        this.spec = spec ?? throw new ArgumentNullException(nameof(spec));
        this.baseLr = baseLr;
        // The base rate first: the inner scheduler takes the groups' current rates as its base, and a schedule rebuilt on an
        // optimizer that already trained (a state received from another rank) must start where a fresh one does.
        SetLr(baseLr);
        var afterWarmup = (int)Math.Max(1, Math.Min(int.MaxValue, totalSteps - spec.WarmupSteps));
        inner = spec.Type switch
        {
            "none" => null,
            "step" => StepLR(optimizer, spec.StepSize, spec.Gamma),
            "exponential" => ExponentialLR(optimizer, spec.Gamma),
            "cosine" => CosineAnnealingLR(optimizer, afterWarmup, spec.MinLr),
            "onecycle" => OneCycleLR(optimizer, spec.MaxLr ?? baseLr, total_steps: afterWarmup + 1, pct_start: spec.PctStart),
            "plateau" => ReduceLROnPlateau(optimizer, "min", factor: spec.Gamma, patience: spec.Patience),
            _ => throw new ArgumentException($"unknown schedule '{spec.Type}'", nameof(spec)),
        };
        if (spec.WarmupSteps > 0) SetLr(baseLr / spec.WarmupSteps);
    }

    public double CurrentLr => optimizer.ParamGroups.First().LearningRate;
    public long Steps => step;
    /// <summary>Evaluation losses fed to reduce-on-plateau so far (saved with checkpoints, replayed by <see cref="Restore"/>).</summary>
    public IReadOnlyList<double> ObservedLosses => observed;

    /// <summary>Call after every optimizer step.</summary>
    public void OnOptimizerStep()
    {
        step++;
        if (step < spec.WarmupSteps)
        {
            SetLr(baseLr * (step + 1) / spec.WarmupSteps);
            return;
        }
        if (step == spec.WarmupSteps && spec.WarmupSteps > 0)
        {
            SetLr(spec.Type == "onecycle" ? CurrentLrOfInnerStart() : baseLr);
            return;
        }
        if (spec.Type != "plateau") inner?.step();
    }

    /// <summary>Call once per epoch with the evaluation loss.</summary>
    public void OnEpochEnd(double evalLoss)
    {
        if (spec.Type != "plateau" || step < spec.WarmupSteps || inner is null) return;
        observed.Add(evalLoss);
        inner.step(evalLoss, null);
    }

    /// <summary>Steps the schedule until it has taken <paramref name="steps"/> steps (a no-op when it already has): the
    /// trainer drives it by the reference steps of its <see cref="ScheduleClock"/>, so at another world size an
    /// optimizer step may advance it by several steps or by none.</summary>
    public void AdvanceTo(long steps)
    {
        while (step < steps) OnOptimizerStep();
    }

    /// <summary>Re-creates the position after resuming: replays <paramref name="steps"/> optimizer steps.</summary>
    public void FastForward(long steps)
    {
        for (var i = 0; i < steps; i++) OnOptimizerStep();
    }

    /// <summary>
    /// Re-creates the position after resuming: replays <paramref name="steps"/> optimizer steps and, for reduce-on-plateau,
    /// the evaluation losses it had seen (its best loss, patience counter and reductions), starting from the base learning
    /// rate so that a learning rate restored with the optimizer state is not reduced twice.
    /// </summary>
    public void Restore(long steps, IReadOnlyList<double>? plateauLosses)
    {
        FastForward(steps);
        if (spec.Type != "plateau" || plateauLosses is not { Count: > 0 } || inner is null) return;
        SetLr(baseLr);
        foreach (var loss in plateauLosses)
        {
            observed.Add(loss);
            inner.step(loss, null);
        }
    }

    private double CurrentLrOfInnerStart() => (spec.MaxLr ?? baseLr) / 25.0;

    private void SetLr(double lr)
    {
        foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
    }
}
