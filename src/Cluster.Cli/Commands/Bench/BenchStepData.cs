using Cluster.Abstractions;
using Cluster.Training.Data;
using Cluster.Training.Engine;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Training batches loaded into memory before timing, normalised exactly as the trainer's loader does
/// (<see cref="JobData"/> transforms, <see cref="DataLoader"/>), so the timed loop reads no data.</summary>
internal sealed class BenchStepData : IDisposable
{
    private readonly List<Batch> batches;

    private BenchStepData(List<Batch> batches, SampleShape shape, int classes)
    {
        this.batches = batches;
        Shape = shape;
        Classes = classes;
    }

    public SampleShape Shape { get; }
    public int Classes { get; }
    public int Count => batches.Count;
    public Batch this[int index] => batches[index];

    public static BenchStepData Load(BenchStepSettings settings, int count, CancellationToken cancellationToken)
    {
        var spec = new TrainingSpec { BatchSize = settings.Batch, Seed = 42 };
        if (settings.Synthetic)
        {
            // Enough distinct samples for a few hundred batches; the data only has to look like images.
            spec.Dataset = new DatasetSpec { Type = "synthetic", Samples = settings.Batch * Math.Min(count, 64), TestSamples = 1 };
        }
        else
        {
            spec.Dataset = new DatasetSpec { Type = "fashion-mnist", Path = settings.Data };
        }
        var data = JobData.Load(spec);
        var sampler = new DistributedSampler(data.Train.Count, new DistributedSamplerOptions { Seed = 42, DropLast = true }, worldSize: 1, rank: 0);
        var options = new DataLoaderOptions { BatchSize = settings.Batch, Transforms = data.TrainTransforms, Seed = 42 };
        var batches = new List<Batch>(count);
        try
        {
            var cursor = SamplerCursor.Start;
            while (batches.Count < count)
            {
                using var loader = new DataLoader(data.Train, sampler, options, cursor);
                if (loader.Steps == 0) throw new UsageException($"--batch {settings.Batch} is larger than the dataset ({data.Train.Count} samples)");
                while (batches.Count < count && loader.Next(cancellationToken) is { } batch) batches.Add(batch);
                cursor = cursor.NextEpoch();
            }
            return new BenchStepData(batches, data.Shape, data.Classes);
        }
        catch
        {
            foreach (var b in batches) b.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var b in batches) b.Dispose();
        batches.Clear();
    }
}
