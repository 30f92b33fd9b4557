using Cluster.Coordinator.Contracts.Data;
using Cluster.Training.Data;
using TorchSharp;
using Xunit;

namespace Cluster.Training.Tests;

public sealed class LoaderTests
{
    private static readonly SyntheticDataset Data = new(new SyntheticDatasetOptions { Shape = new(3, 8, 8), NumClasses = 4, Count = 300, Seed = 2 });

    private static readonly TransformOptions Augment = new()
    {
        CropPadding = 2, HorizontalFlip = true, RotationDegrees = 10, Brightness = 0.2f, Contrast = 0.2f, Saturation = 0.2f,
        Mean = [0.5f, 0.5f, 0.5f], Std = [0.25f, 0.25f, 0.25f],
    };

    private static List<(int[] Idx, float[] Images, long[] Labels, SamplerCursor After)> Drain(DataLoader loader, int max = int.MaxValue)
    {
        var result = new List<(int[], float[], long[], SamplerCursor)>();
        while (result.Count < max && loader.Next() is { } b)
        {
            using (b) result.Add((b.Indices.ToArray(), b.Images.data<float>().ToArray(), b.Labels.data<long>().ToArray(), b.CursorAfter));
        }
        return result;
    }

    [Fact]
    public void Batches_have_the_right_shapes_and_match_the_dataset()
    {
        var sampler = new DistributedSampler(Data.Count, new() { Seed = 1 }, 2, 1);
        using var loader = new DataLoader(Data, sampler, new DataLoaderOptions { BatchSize = 16, Workers = 3, PrefetchBatches = 2 }, SamplerCursor.Start);
        Assert.Equal(10, loader.Steps); // 300 / 32 = 9.4: nine steps of 32 and one of 12
        using var b = loader.Next()!;
        Assert.Equal(new long[] { 16, 3, 8, 8 }, b.Images.shape);
        Assert.Equal(torch.ScalarType.Float32, b.Images.dtype);
        Assert.Equal(new long[] { 16 }, b.Labels.shape);
        Assert.Equal(torch.ScalarType.Int64, b.Labels.dtype);
        var expected = new float[192];
        var images = b.Images.data<float>().ToArray();
        var labels = b.Labels.data<long>().ToArray();
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal(Data.Get(b.Indices[j], expected), labels[j]);
            Assert.Equal(expected, images.AsSpan(j * 192, 192).ToArray());
        }
        Assert.Equal(new SamplerCursor(0, 32), b.CursorAfter);
        Assert.Equal(16, b.ValidCount);
        var rest = Drain(loader, 8);
        Assert.Equal(8, rest.Count);
        using (var last = loader.Next()!)
        {
            Assert.Equal((6, 6), (last.ValidCount, (int)last.Images.shape[0])); // rank 1's half of the final step [288, 300): [294, 300)
            Assert.Equal(294, last.Plan.RankStart);
            rest.Add((last.Indices.ToArray(), [], [], last.CursorAfter));
        }
        Assert.Null(loader.Next());
        Assert.Equal(new SamplerCursor(0, 300), rest[^1].After);
    }

    [Fact]
    public void Augmentation_is_reproducible_and_depends_on_seed_and_epoch_but_not_on_rank()
    {
        List<(int[] Idx, float[] Images, long[] Labels, SamplerCursor After)> Load(int world, int rank, ulong seed, int epoch, int workers)
        {
            var sampler = new DistributedSampler(Data.Count, new() { Seed = 1 }, world, rank);
            using var loader = new DataLoader(Data, sampler, new DataLoaderOptions { BatchSize = 8, Workers = workers, Seed = seed, Transforms = Augment }, new SamplerCursor(epoch, 0));
            return Drain(loader, 5);
        }
        var a = Load(2, 0, 7, 0, 1);
        var b = Load(2, 0, 7, 0, 4);
        Assert.Equal(a.Select(x => x.Images), b.Select(x => x.Images));
        Assert.Equal(a.Select(x => x.Labels), b.Select(x => x.Labels));
        var rank1 = Load(2, 1, 7, 0, 2);
        Assert.NotEqual(a[0].Idx, rank1[0].Idx);
        // One rank of one process reads the blocks both ranks of two read, and augments each sample identically.
        var single = Load(1, 0, 7, 0, 2);
        Assert.Equal(a[0].Idx.Concat(rank1[0].Idx), single[0].Idx.Concat(single[1].Idx));
        Assert.Equal(a[0].Images.Concat(rank1[0].Images), single[0].Images.Concat(single[1].Images));
        var otherSeed = Load(2, 0, 8, 0, 2);
        Assert.Equal(a[0].Idx, otherSeed[0].Idx);           // same samples (sampler seed unchanged)...
        Assert.NotEqual(a[0].Images, otherSeed[0].Images);  // ...augmented differently
        Assert.NotEqual(a[0].Idx, Load(2, 0, 7, 1, 2)[0].Idx);
        // Normalisation: the augmented values are centred around 0, not in [0, 1].
        Assert.Contains(a[0].Images, v => v < 0);
    }

    /// <summary>Every real sample of epoch <paramref name="epoch"/> with its augmented pixels, as the ranks of a world of
    /// <paramref name="world"/> read them from <paramref name="from"/> for <paramref name="steps"/> steps (padding excluded).</summary>
    private static (List<(int Id, float[] Pixels)> Samples, SamplerCursor Cursor) Epoch(int world, SamplerCursor from, int steps, int batch)
    {
        var samples = new List<(int, float[])>();
        var cursor = from;
        var loaders = Enumerable.Range(0, world).Select(r => new DataLoader(Data, new DistributedSampler(Data.Count, new() { Seed = 5 }, world, r),
            new DataLoaderOptions { BatchSize = batch, Seed = 11, Transforms = Augment }, from)).ToArray();
        try
        {
            for (var step = 0; step < steps; step++)
            {
                foreach (var loader in loaders)
                {
                    using var b = loader.Next();
                    if (b is null) return (samples, cursor);
                    var pixels = b.Images.data<float>().ToArray();
                    var size = pixels.Length / b.Indices.Count; // the short final step holds fewer
                    for (var j = 0; j < b.ValidCount; j++) samples.Add((b.Indices[j], pixels.AsSpan(j * size, size).ToArray()));
                    cursor = b.CursorAfter;
                }
            }
        }
        finally { foreach (var l in loaders) l.Dispose(); }
        return (samples, cursor);
    }

    [Theory]
    [InlineData(2, 1, 7)]
    [InlineData(1, 2, 11)]
    [InlineData(3, 2, 4)]
    public void Across_a_world_size_change_every_sample_of_the_epoch_is_read_once_with_the_same_augmentation(int before, int after, int stepsBefore)
    {
        const int batch = 8; // 300 samples: every world size here ends the epoch with a padded step
        var start = new SamplerCursor(2, 0);
        var (first, cursor) = Epoch(before, start, stepsBefore, batch);
        Assert.Equal(new SamplerCursor(2, (long)stepsBefore * before * batch), cursor);
        var (rest, end) = Epoch(after, cursor, int.MaxValue, batch);
        Assert.Equal(new SamplerCursor(2, Data.Count), end);
        var resized = first.Concat(rest).ToList();
        Assert.Equal(Enumerable.Range(0, Data.Count), resized.Select(s => s.Id).Order()); // each sample id exactly once
        var straight = Epoch(1, start, int.MaxValue, batch).Samples.ToDictionary(s => s.Id, s => s.Pixels);
        Assert.All(resized, s => Assert.Equal(straight[s.Id], s.Pixels));                // augmented the same way
    }

    [Fact]
    public void Loaders_resume_from_a_batch_cursor_with_another_world_size()
    {
        var o = new DistributedSamplerOptions { Seed = 4, DropLast = true };
        var seen = new List<int>();
        SamplerCursor cursor = SamplerCursor.Start;
        var loaders2 = Enumerable.Range(0, 2).Select(r => new DataLoader(Data, new DistributedSampler(Data.Count, o, 2, r), new DataLoaderOptions { BatchSize = 10 }, SamplerCursor.Start)).ToArray();
        try
        {
            for (int step = 0; step < 4; step++)
            {
                foreach (var l in loaders2) { using var b = l.Next()!; seen.AddRange(b.Indices); cursor = b.CursorAfter; }
            }
        }
        finally { foreach (var l in loaders2) l.Dispose(); }
        Assert.Equal(new SamplerCursor(0, 80), cursor);
        var loaders3 = Enumerable.Range(0, 3).Select(r => new DataLoader(Data, new DistributedSampler(Data.Count, o, 3, r), new DataLoaderOptions { BatchSize = 10 }, cursor)).ToArray();
        try
        {
            Assert.All(loaders3, l => Assert.Equal(7, l.Steps)); // (300 - 80) / 30 = 7.3
            foreach (var l in loaders3) seen.AddRange(Drain(l).SelectMany(b => b.Idx));
        }
        finally { foreach (var l in loaders3) l.Dispose(); }
        Assert.Equal(80 + 210, seen.Count);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Fact]
    public async Task Dispose_mid_epoch_returns_promptly_and_frees_prefetched_batches()
    {
        var big = new SyntheticDataset(new SyntheticDatasetOptions { Shape = new(1, 28, 28), Count = 5000 });
        var sampler = new DistributedSampler(big.Count, new(), 1, 0);
        var loader = new DataLoader(big, sampler, new DataLoaderOptions { BatchSize = 32, Workers = 4, PrefetchBatches = 3 }, SamplerCursor.Start);
        using (var first = loader.Next()) Assert.NotNull(first);
        var dispose = Task.Run(loader.Dispose);
        await dispose.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Throws<ObjectDisposedException>(() => loader.Next());
        loader.Dispose(); // idempotent
    }

    [Fact]
    public async Task Consumer_cancellation_and_worker_exceptions_reach_the_consumer()
    {
        var failing = new FailingDataset(Data, failAt: 123);
        var sampler = new DistributedSampler(failing.Count, new() { Shuffle = false }, 1, 0);
        using var loader = new DataLoader(failing, sampler, new DataLoaderOptions { BatchSize = 50, Workers = 2 }, SamplerCursor.Start);
        using (var b0 = await loader.NextAsync(CancellationToken.None)) Assert.NotNull(b0);
        using (var b1 = loader.Next()) Assert.NotNull(b1);
        var ex = Assert.Throws<DataLoaderException>(() => loader.Next());   // batch 2 holds index 123
        Assert.Contains("batch 2", ex.Message);
        Assert.Contains("sample 123 is broken", ex.InnerException!.Message);
        await Assert.ThrowsAsync<DataLoaderException>(async () => await loader.NextAsync(CancellationToken.None)); // stays failed

        var blocked = new FailingDataset(Data, failAt: -1, block: true);
        using var stuck = new DataLoader(blocked, new DistributedSampler(blocked.Count, new(), 1, 0), new DataLoaderOptions { BatchSize = 4, Workers = 1, TakeTimeout = TimeSpan.FromMilliseconds(200) }, SamplerCursor.Start);
        try
        {
            var timeout = Assert.Throws<TimeoutException>(() => stuck.Next());
            Assert.Contains("batch 0 of epoch 0", timeout.Message);
            using var cts = new CancellationTokenSource();
            var pending = stuck.NextAsync(cts.Token).AsTask();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        }
        finally
        {
            blocked.Release();
        }
    }

    [Fact]
    public void Transforms_flip_crop_and_normalise_as_specified()
    {
        var shape = new SampleShape(1, 2, 3);
        var sample = new float[] { 1, 2, 3, 4, 5, 6 };
        var scratch = new float[6];
        // Find a seed whose first draw flips, and one that does not: both outcomes must be exact.
        var flip = new SampleTransform(new TransformOptions { HorizontalFlip = true }, shape);
        var seen = new HashSet<string>();
        for (ulong s = 0; s < 8; s++)
        {
            var x = (float[])sample.Clone();
            var rng = new SplitMix64(s);
            flip.Apply(x, scratch, ref rng);
            seen.Add(string.Join(",", x));
        }
        Assert.Equal(new HashSet<string> { "1,2,3,4,5,6", "3,2,1,6,5,4" }, seen);

        var norm = new SampleTransform(new TransformOptions { Mean = [1f], Std = [2f] }, shape);
        var n = (float[])sample.Clone();
        var r0 = new SplitMix64(0);
        norm.Apply(n, scratch, ref r0);
        Assert.Equal(new float[] { 0, 0.5f, 1, 1.5f, 2, 2.5f }, n);

        var crop = new SampleTransform(new TransformOptions { CropPadding = 1 }, new SampleShape(1, 3, 3));
        for (ulong s = 0; s < 20; s++)
        {
            var c = new float[] { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
            var rng = new SplitMix64(s);
            crop.Apply(c, new float[9], ref rng);
            Assert.Equal(1f, c[4]);                       // the centre always survives a ±1 shift
            Assert.InRange(c.Count(v => v == 0f), 0, 5);  // at most one row and one column are padding
        }
        Assert.Throws<ArgumentException>(() => new SampleTransform(new TransformOptions { Brightness = 0.1f }, shape));
    }

    private sealed class FailingDataset(IDataset inner, int failAt, bool block = false) : IDataset
    {
        private readonly ManualResetEventSlim _gate = new(!block);
        public int Count => inner.Count;
        public int NumClasses => inner.NumClasses;
        public SampleShape Shape => inner.Shape;
        public void Release() => _gate.Set();
        public int GetLabel(int index) => inner.GetLabel(index);

        public int Get(int index, Span<float> destination)
        {
            if (!_gate.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("test gate never released");
            if (index == failAt) throw new InvalidDataException($"sample {index} is broken");
            return inner.Get(index, destination);
        }
    }
}
