using Cluster.Abstractions;
using Cluster.Training.Engine;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class JobDataTests
{
    [Fact]
    public void Fashion_mnist_spec_loads_train_and_test_splits_with_subsets()
    {
        var spec = JobSpecLoader.Parse("""
            name: fm
            training:
              dataset: { type: fashion-mnist, path: /usr/share/datasets/fashion-mnist }
              subsetTrain: 1000
              subsetTest: 200
              augmentation: { randomCropPadding: 2, horizontalFlip: true }
            """).Training;
        var data = JobData.Load(spec);
        Assert.Equal(1000, data.Train.Count);
        Assert.Equal(200, data.Test.Count);
        Assert.Equal(10, data.Classes);
        Assert.Equal(new Cluster.Training.Data.SampleShape(1, 28, 28), data.Shape);
        Assert.Equal([0.2860f], data.Mean);
        Assert.Equal(2, data.TrainTransforms.CropPadding);
        Assert.True(data.TrainTransforms.HorizontalFlip);
    }

    [Fact]
    public void Synthetic_train_and_test_are_disjoint_draws_of_the_same_classes()
    {
        var spec = JobSpecLoader.Parse("name: s\ntraining:\n  dataset: { type: synthetic, samples: 50, testSamples: 20, classes: 3, shape: [3, 6, 6] }\n").Training;
        var data = JobData.Load(spec);
        Assert.Equal(50, data.Train.Count);
        Assert.Equal(20, data.Test.Count);
        Assert.Equal(3, data.Classes);
        var a = new float[data.Shape.Elements];
        var b = new float[data.Shape.Elements];
        data.Train.Get(0, a);
        data.Test.Get(0, b);
        Assert.NotEqual(a, b);
        Assert.Equal(3, data.Mean.Length);
    }
}
