using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// How the micro-batches of one optimizer step weigh their samples, so that every step's gradient is the mean over the
/// real samples it consumed, whatever the world size: exactly-once for the last partial step of an epoch.
/// <para>The gradient all-reduce averages over the W ranks, so a micro-batch's loss is Σ(real samples' losses) · W / R,
/// where R is the number of real samples in the whole step (every rank, every micro-batch). Padding (positions past the
/// epoch's end, which wrap to its start) has weight 0: it is not trained a second time. In a full step
/// R = W · B · accumulation and this is the usual mean / accumulation, computed the usual way.</para>
/// <para>Padding still passes through the forward pass, so a BatchNorm layer's batch statistics in that one step include
/// it; its gradient contribution is zero.</para>
/// </summary>
internal readonly record struct StepWeighting(bool Full, int Accumulation, double Scale)
{
    /// <summary>The weighting of the step that starts at <paramref name="stepStart"/> and runs <paramref name="microBatches"/> micro-batches.</summary>
    public static StepWeighting Of(long stepStart, int microBatches, int batch, int world, long epochLength, int accumulation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(microBatches, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(accumulation, microBatches);
        var positions = (long)microBatches * world * batch;
        var real = Math.Clamp(epochLength - stepStart, 0, positions);
        if (real == 0) throw new ArgumentOutOfRangeException(nameof(stepStart), stepStart, $"a step at position {stepStart} of an epoch of {epochLength} has no real sample");
        return microBatches == accumulation && real == positions
            ? new StepWeighting(true, accumulation, 0)
            : new StepWeighting(false, accumulation, (double)world / real);
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
