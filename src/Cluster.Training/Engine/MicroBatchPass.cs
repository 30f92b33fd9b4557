using Cluster.Coordinator.Contracts.Data;
using Cluster.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// The arithmetic of one optimizer step that is the same on a rank and in the audit replay (<see cref="Audit.AuditReplay"/>):
/// a micro-batch's forward and backward pass (dropout seeded by the sample position, the step's weighting) and the optimizer
/// step at a scaled learning rate. One implementation, so that the replay cannot drift from what the ranks compute.
/// </summary>
internal static class MicroBatchPass
{
    /// <summary>
    /// Forward and backward of <paramref name="batch"/> through <paramref name="model"/>: the gradient accumulates into the
    /// parameters' <c>grad</c>. Returns the micro-batch's mean loss over its real samples (NaN when it has none).
    /// </summary>
    public static float ForwardBackward(nn.Module<Tensor, Tensor> model, Batch batch, StepWeighting weighting, ScalarType computeType, long seed)
    {
        // Dropout keyed by the global position of the rank's first sample, not by the rank: the same block of the epoch's
        // sequence gets the same masks whatever the world size, and again on resume.
        manual_seed(DropoutSeed(seed, batch.CursorBefore.Epoch, batch.Plan.RankStart));
        using var x = batch.Images.to_type(computeType);
        using var output = model.forward(x);
        using var logits = output.to_type(ScalarType.Float32);
        var (value, scaled) = weighting.Loss(logits, batch.Labels, batch.ValidCount);
        using (scaled) scaled.backward();
        return value;
    }

    /// <summary>The optimizer step at each group's learning rate × <paramref name="scale"/> (per-rank scaling), the groups' own rates kept.</summary>
    public static void OptimizerStep(optim.Optimizer optimizer, double scale)
    {
        if (scale == 1)
        {
            optimizer.step();
            return;
        }
        var groups = optimizer.ParamGroups.ToArray();
        var rates = groups.Select(g => g.LearningRate).ToArray();
        foreach (var g in groups) g.LearningRate *= scale;
        try { optimizer.step(); }
        finally
        {
            for (var i = 0; i < groups.Length; i++) groups[i].LearningRate = rates[i];
        }
    }

    /// <summary>The torch seed of a micro-batch: (seed, epoch, global position of its first sample).</summary>
    public static long DropoutSeed(long seed, int epoch, long firstPosition) =>
        (long)(SplitMix64.Combine(unchecked((ulong)seed), 0xD20F_0UL, (ulong)epoch, (ulong)firstPosition) & 0x7FFF_FFFF_FFFF_FFFFUL);
}
