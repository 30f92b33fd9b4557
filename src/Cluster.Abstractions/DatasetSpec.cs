namespace Cluster.Abstractions;

/// <summary>The data. fashion-mnist: <see cref="Path"/> holds the four IDX gzip files. image-folder: <see cref="Path"/>
/// (train) and <see cref="TestPath"/> with one sub-folder per class. csv: <see cref="Path"/>/<see cref="TestPath"/> files,
/// label in column <see cref="LabelColumn"/>. synthetic: <see cref="Samples"/> samples of <see cref="Shape"/> in
/// <see cref="Classes"/> classes (deterministic from the seed).</summary>
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
    public int LabelColumn { get; set; }
    public bool HasHeader { get; set; } = true;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        SpecChecks.OneOf($"{path}.type", Type, Types, errors);
        if (Type is "image-folder" or "csv" && string.IsNullOrWhiteSpace(Path))
            errors.Add(new($"{path}.path", $"is required for dataset type '{Type}'"));
        if (Classes < 2) errors.Add(new($"{path}.classes", $"must be >= 2 (got {Classes})"));
        if (Type == "synthetic")
        {
            if (Samples < 1) errors.Add(new($"{path}.samples", $"must be >= 1 (got {Samples})"));
            if (TestSamples < 1) errors.Add(new($"{path}.testSamples", $"must be >= 1 (got {TestSamples})"));
        }
        if (Shape.Count is < 1 or > 3 || Shape.Any(d => d < 1))
            errors.Add(new($"{path}.shape", $"must be 1 to 3 positive dimensions (got [{string.Join(", ", Shape)}])"));
        if (LabelColumn < 0) errors.Add(new($"{path}.labelColumn", $"must be >= 0 (got {LabelColumn})"));
    }
}
