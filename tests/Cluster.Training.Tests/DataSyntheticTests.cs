using Cluster.Training.Data;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class DataSyntheticTests
{
    [Fact]
    public void Synthetic_is_deterministic_per_seed()
    {
        var o = new SyntheticDatasetOptions { Shape = new(3, 8, 8), NumClasses = 4, Count = 50, Seed = 9 };
        var a = new SyntheticDataset(o);
        var b = new SyntheticDataset(o);
        var c = new SyntheticDataset(o with { Seed = 10 });
        float[] x = new float[192], y = new float[192], z = new float[192];
        Assert.Equal(a.Get(17, x), b.Get(17, y));
        Assert.Equal(x, y);
        c.Get(17, z);
        Assert.NotEqual(x, z);
        Assert.Equal(a.GetLabel(17), a.Get(17, x));
        Assert.All(x, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void Synthetic_classes_are_learnable_by_nearest_centroid()
    {
        var ds = new SyntheticDataset(new SyntheticDatasetOptions { Shape = new(1, 12, 12), NumClasses = 5, Count = 600, Seed = 3, Noise = 0.3f });
        int e = ds.Shape.Elements;
        var centroids = new double[5, e];
        var counts = new int[5];
        var buf = new float[e];
        for (int i = 0; i < 300; i++)
        {
            int l = ds.Get(i, buf);
            counts[l]++;
            for (int k = 0; k < e; k++) centroids[l, k] += buf[k];
        }
        Assert.All(counts, c => Assert.True(c > 20));
        int correct = 0;
        for (int i = 300; i < 600; i++)
        {
            int l = ds.Get(i, buf);
            int best = -1; double bestD = double.MaxValue;
            for (int c = 0; c < 5; c++)
            {
                double d = 0;
                for (int k = 0; k < e; k++) { double diff = buf[k] - centroids[c, k] / counts[c]; d += diff * diff; }
                if (d < bestD) { bestD = d; best = c; }
            }
            if (best == l) correct++;
        }
        Assert.True(correct >= 270, $"nearest-centroid accuracy {correct}/300");
    }

    [Fact]
    public void Subsets_take_the_first_or_a_seeded_random_selection()
    {
        var ds = new SyntheticDataset(new SyntheticDatasetOptions { Count = 100 });
        var first = SubsetDataset.First(ds, 10);
        Assert.Equal(Enumerable.Range(0, 10), first.Indices);
        var r1 = SubsetDataset.Random(ds, 20, 5);
        var r2 = SubsetDataset.Random(ds, 20, 5);
        Assert.Equal(r1.Indices, r2.Indices);
        Assert.Equal(20, r1.Indices.Distinct().Count());
        Assert.NotEqual(r1.Indices, SubsetDataset.Random(ds, 20, 6).Indices);
        Assert.Equal(ds.GetLabel(r1.Indices[3]), r1.GetLabel(3));
        var viaFactory = DatasetFactory.Create(new DatasetOptions { Kind = DatasetKind.Synthetic, SyntheticCount = 100, SubsetSize = 20, SubsetSeed = 5 });
        Assert.Equal(20, viaFactory.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyntheticDataset(new SyntheticDatasetOptions { NumClasses = 1 }));
    }
}
