namespace Cluster.Training.Data;

public sealed record SyntheticDatasetOptions
{
    public SampleShape Shape { get; init; } = new(1, 28, 28);
    public int NumClasses { get; init; } = 10;
    public int Count { get; init; } = 1024;
    public ulong Seed { get; init; } = 1;
    /// <summary>Standard deviation of the per-pixel Gaussian noise (values are clamped to [0, 1]).</summary>
    public float Noise { get; init; } = 0.2f;

    public void Validate()
    {
        Shape.Validate();
        if (NumClasses is < 2 or > 100_000) throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "NumClasses must be in [2, 100000].");
        if (Count <= 0) throw new ArgumentOutOfRangeException(nameof(Count), Count, "Count must be positive.");
        if (!(Noise >= 0f && Noise <= 10f)) throw new ArgumentOutOfRangeException(nameof(Noise), Noise, "Noise must be in [0, 10].");
    }
}
