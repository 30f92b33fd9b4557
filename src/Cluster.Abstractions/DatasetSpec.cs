namespace Cluster.Abstractions;

/// <summary>The data. fashion-mnist: <see cref="Path"/> holds the four IDX gzip files. image-folder: <see cref="Path"/>
/// (train) and <see cref="TestPath"/> with one sub-folder per class. csv: <see cref="Path"/>/<see cref="TestPath"/> files of
/// <c>image-path,label</c> lines. image-folder/csv images are decoded to <see cref="Shape"/> [C, H, W]. synthetic:
/// <see cref="Samples"/> + <see cref="TestSamples"/> samples of <see cref="Shape"/> in <see cref="Classes"/> classes
/// (class prototypes plus noise, deterministic from the job seed).</summary>
public sealed class DatasetSpec
{
    public static readonly IReadOnlyList<string> Types = ["fashion-mnist", "image-folder", "csv", "synthetic"];

    public string Type { get; set; } = "fashion-mnist";
    public string? Path { get; set; }
    public string? TestPath { get; set; }
    public int Samples { get; set; } = 1024;
    public int TestSamples { get; set; } = 256;
    public int Classes { get; set; } = 10;
    public List<int> Shape { get; set; } = [1, 28, 28];
    /// <summary>synthetic: standard deviation of the per-pixel noise.</summary>
    public double Noise { get; set; } = 0.2;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        SpecChecks.OneOf($"{path}.type", Type, Types, errors);
        if (Type is "image-folder" or "csv")
        {
            if (string.IsNullOrWhiteSpace(Path)) errors.Add(new($"{path}.path", $"is required for dataset type '{Type}'"));
            if (string.IsNullOrWhiteSpace(TestPath)) errors.Add(new($"{path}.testPath", $"is required for dataset type '{Type}'"));
        }
        if (Classes < 2) errors.Add(new($"{path}.classes", $"must be >= 2 (got {Classes})"));
        if (Type == "synthetic")
        {
            if (Samples < 1) errors.Add(new($"{path}.samples", $"must be >= 1 (got {Samples})"));
            if (TestSamples < 1) errors.Add(new($"{path}.testSamples", $"must be >= 1 (got {TestSamples})"));
        }
        if (Shape.Count != 3 || Shape[0] is not (1 or 3) || Shape[1] is < 1 or > 4096 || Shape[2] is < 1 or > 4096)
            errors.Add(new($"{path}.shape", $"must be [channels (1 or 3), height, width] (got [{string.Join(", ", Shape)}])"));
        if (Noise is < 0 or > 10) errors.Add(new($"{path}.noise", $"must be in [0, 10] (got {Noise})"));
    }
}
