using Cluster.Abstractions;
using Cluster.Training.Data;

namespace Cluster.Training.Engine;

/// <summary>The train and test datasets and the training transforms described by a <see cref="TrainingSpec"/>.</summary>
public sealed record JobData(IDataset Train, IDataset Test, TransformOptions TrainTransforms, float[] Mean, float[] Std)
{
    public SampleShape Shape => Train.Shape;
    public int Classes => Math.Max(Train.NumClasses, Test.NumClasses);

    public static JobData Load(TrainingSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var d = spec.Dataset;
        var shape = new SampleShape(d.Shape[0], d.Shape[1], d.Shape[2]);
        IDataset train, test;
        switch (d.Type)
        {
            case "fashion-mnist":
                train = FashionMnistDataset.Open(d.Path, FashionMnistSplit.Train);
                test = FashionMnistDataset.Open(d.Path, FashionMnistSplit.Test);
                break;
            case "image-folder":
                train = ImageFileDataset.FromFolder(d.Path!, shape);
                test = ImageFileDataset.FromFolder(d.TestPath!, shape);
                break;
            case "csv":
                train = ImageFileDataset.FromCsv(d.Path!, shape, d.Classes);
                test = ImageFileDataset.FromCsv(d.TestPath!, shape, d.Classes);
                break;
            case "synthetic":
                // One generator (same class prototypes) split into disjoint train and test ranges.
                var all = new SyntheticDataset(new SyntheticDatasetOptions
                {
                    Shape = shape, NumClasses = d.Classes, Count = d.Samples + d.TestSamples,
                    Seed = unchecked((ulong)spec.Seed), Noise = (float)d.Noise,
                });
                train = new SubsetDataset(all, Enumerable.Range(0, d.Samples).ToArray());
                test = new SubsetDataset(all, Enumerable.Range(d.Samples, d.TestSamples).ToArray());
                break;
            default:
                throw new ArgumentException($"unknown dataset type '{d.Type}'", nameof(spec));
        }
        if (spec.SubsetTrain > 0 && spec.SubsetTrain < train.Count) train = SubsetDataset.First(train, spec.SubsetTrain);
        if (spec.SubsetTest > 0 && spec.SubsetTest < test.Count) test = SubsetDataset.First(test, spec.SubsetTest);
        if (train.Shape != test.Shape) throw new InvalidDataException($"train samples are {train.Shape} but test samples are {test.Shape}");

        var channels = train.Shape.Channels;
        float[] mean, std;
        if (!spec.Augmentation.Normalize) (mean, std) = ([.. Enumerable.Repeat(0f, channels)], [.. Enumerable.Repeat(1f, channels)]);
        else if (d.Type == "fashion-mnist") (mean, std) = ([0.2860f], [0.3530f]);
        else (mean, std) = ([.. Enumerable.Repeat(0.5f, channels)], [.. Enumerable.Repeat(0.5f, channels)]);
        var transforms = new TransformOptions
        {
            Mean = mean, Std = std,
            CropPadding = spec.Augmentation.RandomCropPadding,
            HorizontalFlip = spec.Augmentation.HorizontalFlip,
        };
        return new JobData(train, test, transforms, mean, std);
    }
}
