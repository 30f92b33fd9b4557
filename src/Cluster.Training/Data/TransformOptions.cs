namespace Cluster.Training.Data;

/// <summary>Per-sample transforms, applied in this order: crop, flip, rotation, colour jitter, normalise.</summary>
public sealed record TransformOptions
{
    /// <summary>Per-channel mean for normalisation (length 1 or C); null: no normalisation.</summary>
    public IReadOnlyList<float>? Mean { get; init; }
    /// <summary>Per-channel standard deviation (same length as <see cref="Mean"/>).</summary>
    public IReadOnlyList<float>? Std { get; init; }
    /// <summary>Random crop of the original size after zero-padding by this many pixels each side; 0: off.</summary>
    public int CropPadding { get; init; }
    /// <summary>Flip left-right with probability 0.5.</summary>
    public bool HorizontalFlip { get; init; }
    /// <summary>Rotate by a uniform angle in [-d, d] degrees (bilinear, zero fill); 0: off.</summary>
    public float RotationDegrees { get; init; }
    /// <summary>RGB only: brightness factor in [1-b, 1+b]; 0: off.</summary>
    public float Brightness { get; init; }
    /// <summary>RGB only: contrast factor in [1-c, 1+c]; 0: off.</summary>
    public float Contrast { get; init; }
    /// <summary>RGB only: saturation factor in [1-s, 1+s]; 0: off.</summary>
    public float Saturation { get; init; }

    public static TransformOptions None { get; } = new();

    /// <summary>True when any transform draws random numbers.</summary>
    public bool IsRandom => CropPadding > 0 || HorizontalFlip || RotationDegrees > 0 || Brightness > 0 || Contrast > 0 || Saturation > 0;

    public void Validate(SampleShape shape)
    {
        if ((Mean is null) != (Std is null)) throw new ArgumentException("Mean and Std must be given together.", nameof(Mean));
        if (Mean is not null && Std is not null)
        {
            if (Mean.Count != 1 && Mean.Count != shape.Channels) throw new ArgumentException($"Mean has {Mean.Count} values, expected 1 or {shape.Channels}.", nameof(Mean));
            if (Std.Count != Mean.Count) throw new ArgumentException($"Std has {Std.Count} values, Mean has {Mean.Count}.", nameof(Std));
            foreach (var s in Std) if (!(s > 0)) throw new ArgumentException($"Std values must be positive, got {s}.", nameof(Std));
        }
        if (CropPadding < 0 || CropPadding > Math.Min(shape.Height, shape.Width))
            throw new ArgumentOutOfRangeException(nameof(CropPadding), CropPadding, $"CropPadding must be in [0, {Math.Min(shape.Height, shape.Width)}].");
        if (!(RotationDegrees >= 0 && RotationDegrees <= 180)) throw new ArgumentOutOfRangeException(nameof(RotationDegrees), RotationDegrees, "RotationDegrees must be in [0, 180].");
        foreach (var (name, v) in new[] { (nameof(Brightness), Brightness), (nameof(Contrast), Contrast), (nameof(Saturation), Saturation) })
        {
            if (!(v >= 0 && v <= 1)) throw new ArgumentOutOfRangeException(name, v, $"{name} must be in [0, 1].");
            if (v > 0 && shape.Channels != 3) throw new ArgumentException($"{name} (colour jitter) needs RGB samples, the shape is {shape}.", name);
        }
    }
}
