namespace Cluster.Training.Data;

/// <summary>What <see cref="DatasetFactory.Create"/> builds; the job spec maps onto this.</summary>
public sealed record DatasetOptions
{
    public DatasetKind Kind { get; init; } = DatasetKind.FashionMnist;
    /// <summary>FashionMnist: folder of the IDX files (default <see cref="FashionMnistDataset.DefaultDirectory"/>);
    /// ImageFolder: root folder; Csv: the CSV file. Unused for Synthetic.</summary>
    public string? Path { get; init; }
    /// <summary>FashionMnist only: which split.</summary>
    public FashionMnistSplit Split { get; init; } = FashionMnistSplit.Train;
    /// <summary>ImageFolder/Csv/Synthetic: decoded/generated sample shape.</summary>
    public SampleShape Shape { get; init; } = new(1, 28, 28);
    /// <summary>Csv: number of classes (default max label + 1). Synthetic: number of classes.</summary>
    public int? NumClasses { get; init; }
    /// <summary>Synthetic only: number of samples.</summary>
    public int SyntheticCount { get; init; } = 1024;
    /// <summary>Synthetic only: noise standard deviation.</summary>
    public float SyntheticNoise { get; init; } = 0.2f;
    /// <summary>Synthetic data seed.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Keep only this many samples (null: all).</summary>
    public int? SubsetSize { get; init; }
    /// <summary>Null: the first <see cref="SubsetSize"/> samples; otherwise a random subset drawn with this seed.</summary>
    public ulong? SubsetSeed { get; init; }

    public void Validate()
    {
        if (Kind is DatasetKind.ImageFolder or DatasetKind.Csv && string.IsNullOrWhiteSpace(Path))
            throw new ArgumentException($"Dataset kind {Kind} needs a Path.", nameof(Path));
        if (Kind is not DatasetKind.FashionMnist) Shape.Validate();
        if (SubsetSize is <= 0) throw new ArgumentOutOfRangeException(nameof(SubsetSize), SubsetSize, "SubsetSize must be positive.");
        if (SubsetSeed is not null && SubsetSize is null) throw new ArgumentException("SubsetSeed needs SubsetSize.", nameof(SubsetSeed));
    }
}
