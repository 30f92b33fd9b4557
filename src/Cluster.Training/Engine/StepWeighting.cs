using Cluster.Coordinator.Contracts.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// How the micro-batches of one optimizer step weigh their samples, so that every step's gradient is the mean over the
/// real samples it consumed (the global sample count), whatever the world size and however unequal the ranks' shares.
/// <para>The gradient all-reduce averages over the W ranks, so a micro-batch's loss is Σ(real samples' losses) · W / R,
/// where R is the number of real samples in the whole step (every rank, every micro-batch): an average of per-rank means
/// would be wrong for unequal shares. Padding (a rank with no position in a micro-batch) has weight 0. When every rank's
/// share of every micro-batch has the same size (<see cref="MicroBatch.UniformStep"/>) this is the usual mean /
/// accumulation, computed the usual way.</para>
/// </summary>
internal readonly record struct StepWeighting(bool Full, int Accumulation, double Scale)
{
    /// <summary>The weighting of the step whose micro-batch is <paramref name="microBatch"/> on <paramref name="world"/> ranks.</summary>
    public static StepWeighting Of(MicroBatch microBatch, int world)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(world, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(microBatch.StepReal, 1);
        return microBatch.UniformStep(world)
            ? new StepWeighting(true, microBatch.StepMicroBatches, 0)
            : new StepWeighting(false, microBatch.StepMicroBatches, (double)world / microBatch.StepReal);
    }

    /// <summary>
    /// The micro-batch's mean loss over its <paramref name="valid"/> leading real samples (for reporting; NaN when it has
    /// none) and the weighted loss to call <c>backward()</c> on (the caller disposes it).
    /// </summary>
    public (float Mean, Tensor Weighted) Loss(Tensor logits, Tensor labels, int valid)
    {
        if (Full)
        {
            using var mean = nn.functional.cross_entropy(logits, labels);
            return (mean.item<float>(), mean / Accumulation);
        }
        using var perSample = nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.None);
        using var real = perSample.narrow(0, 0, valid);
        using var sum = real.sum();
        var total = sum.item<float>();
        return (valid > 0 ? total / valid : float.NaN, sum * Scale);
    }
}
