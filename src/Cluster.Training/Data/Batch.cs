using TorchSharp;

namespace Cluster.Training.Data;

/// <summary>
/// One rank's batch: CPU tensors <see cref="Images"/> float32 [B, C, H, W] and <see cref="Labels"/> int64 [B].
/// The consumer owns it and must dispose it (or move the tensors elsewhere and dispose those).
/// </summary>
public sealed class Batch : IDisposable
{
    internal Batch(torch.Tensor images, torch.Tensor labels, int[] indices, int stepInEpoch, SamplerCursor cursorBefore, SamplerCursor cursorAfter, int validCount)
    {
        ValidCount = validCount;
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
    /// <summary>Leading samples that are real; the rest (only in a padded final step) repeat earlier samples.</summary>
    public int ValidCount { get; }
    /// <summary>0-based number of this global step counted from the loader's start cursor.</summary>
    public int StepInEpoch { get; }
    public SamplerCursor CursorBefore { get; }
    /// <summary>Checkpoint this once the step that used the batch has been applied on every rank.</summary>
    public SamplerCursor CursorAfter { get; }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
