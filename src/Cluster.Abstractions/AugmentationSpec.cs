namespace Cluster.Abstractions;

/// <summary>Training-time augmentation (test data is never augmented).</summary>
public sealed class AugmentationSpec
{
    /// <summary>Random crop after zero padding by this many pixels (0: off).</summary>
    public int RandomCropPadding { get; set; }
    public bool HorizontalFlip { get; set; }
    /// <summary>Normalise with per-dataset mean/std (fashion-mnist: 0.2860/0.3530).</summary>
    public bool Normalize { get; set; } = true;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (RandomCropPadding is < 0 or > 16) errors.Add(new($"{path}.randomCropPadding", $"must be in [0, 16] (got {RandomCropPadding})"));
    }
}
