using Cluster.Coordinator.Contracts.Data;
using TorchSharp;

namespace Cluster.Training.Data;

/// <summary>
/// One rank's micro-batch: CPU tensors <see cref="Images"/> float32 [n, C, H, W] and <see cref="Labels"/> int64 [n]
/// (n = <see cref="MicroBatch.RankCount"/> of <see cref="Plan"/>).
/// The consumer owns it and must dispose it (or move the tensors elsewhere and dispose those).
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(torch.Tensor images, torch.Tensor labels, int[] indices, int stepInEpoch, MicroBatch plan, SamplerCursor cursorBefore, SamplerCursor cursorAfter)
    {
        Plan = plan;
        ValidCount = plan.RankValid;
        Images = images;
        Labels = labels;
        Indices = indices;
        StepInEpoch = stepInEpoch;
        CursorBefore = cursorBefore;
        CursorAfter = cursorAfter;
    }

    public torch.Tensor Images { get; }
    public torch.Tensor Labels { get; }
    /// <summary>The dataset indices of the samples, in batch order.</summary>
    public IReadOnlyList<int> Indices { get; }
    /// <summary>Leading samples that are real; the rest (padding) repeat a sample of the micro-batch with weight 0.</summary>
    public int ValidCount { get; }
    /// <summary>Where the micro-batch lies in its step and in the epoch's sequence.</summary>
    public MicroBatch Plan { get; }
    /// <summary>0-based number of this micro-batch counted from the loader's start cursor.</summary>
    public int StepInEpoch { get; }
    public SamplerCursor CursorBefore { get; }
    /// <summary>The position after this micro-batch (after the last of a step: checkpoint it once the step is applied).</summary>
    public SamplerCursor CursorAfter { get; }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
