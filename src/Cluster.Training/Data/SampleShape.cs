namespace Cluster.Training.Data;

/// <summary>Shape of one sample in CHW order (channels, height, width).</summary>
public readonly record struct SampleShape(int Channels, int Height, int Width)
{
    /// <summary>Number of float elements of one sample.</summary>
    public int Elements => checked(Channels * Height * Width);

    public void Validate()
    {
        if (Channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "Channels must be 1 (grayscale) or 3 (RGB).");
        if (Height <= 0 || Height > 4096) throw new ArgumentOutOfRangeException(nameof(Height), Height, "Height must be in [1, 4096].");
        if (Width <= 0 || Width > 4096) throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be in [1, 4096].");
    }

    public override string ToString() => $"{Channels}x{Height}x{Width}";
}
