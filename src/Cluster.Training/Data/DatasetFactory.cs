namespace Cluster.Training.Data;

public static class DatasetFactory
{
    public static IDataset Create(DatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        IDataset dataset = options.Kind switch
        {
            DatasetKind.FashionMnist => FashionMnistDataset.Open(options.Path, options.Split),
            DatasetKind.ImageFolder => ImageFileDataset.FromFolder(options.Path!, options.Shape),
            DatasetKind.Csv => ImageFileDataset.FromCsv(options.Path!, options.Shape, options.NumClasses),
            DatasetKind.Synthetic => new SyntheticDataset(new SyntheticDatasetOptions
            {
                Shape = options.Shape,
                NumClasses = options.NumClasses ?? 10,
                Count = options.SyntheticCount,
                Seed = options.Seed,
                Noise = options.SyntheticNoise,
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Kind, "Unknown dataset kind."),
        };
        if (options.SubsetSize is int n)
        {
            dataset = options.SubsetSeed is ulong seed ? SubsetDataset.Random(dataset, n, seed) : SubsetDataset.First(dataset, n);
        }
        return dataset;
    }
}
