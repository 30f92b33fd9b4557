using System.Runtime.InteropServices;
using Cluster.Coordinator.Contracts.Data;
using TorchSharp;

namespace Cluster.Training.Data;

/// <summary>
/// Background-prefetching loader for one rank and one epoch, from a start cursor to the end of that epoch.
/// Worker threads assemble batches straight into tensor memory; at most
/// <see cref="DataLoaderOptions.PrefetchBatches"/> batches are in flight; batches come out in step order.
/// A worker's exception is rethrown (as <see cref="DataLoaderException"/>) from <see cref="Next"/>.
/// </summary>
public sealed class DataLoader : IDisposable
{
    private readonly IDataset _dataset;
    private readonly DistributedSampler _sampler;
    private readonly DataLoaderOptions _options;
    private readonly SampleTransform _transform;
    private readonly SamplerCursor _start;
    private readonly IReadOnlyList<MicroBatch> _plan;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _window;
    private readonly object _lock = new();
    private readonly TaskCompletionSource<Batch>[] _ring;
    private readonly Thread[] _threads;
    private int _nextClaim;
    private int _consumed;
    private bool _disposed;

    public DataLoader(IDataset dataset, DistributedSampler sampler, DataLoaderOptions options, SamplerCursor start)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(start);
        options.Validate();
        if (sampler.DatasetSize != dataset.Count)
            throw new ArgumentException($"The sampler was built for {sampler.DatasetSize} samples, the dataset has {dataset.Count}.", nameof(sampler));
        _dataset = dataset;
        _sampler = sampler;
        _options = options;
        _transform = new SampleTransform(options.Transforms, dataset.Shape);
        _start = start;
        var globalBatch = options.GlobalBatch > 0 ? options.GlobalBatch : checked(options.BatchSize * sampler.WorldSize);
        _plan = sampler.MicroBatches(sampler.Plan(globalBatch, options.BatchSize), start);
        Steps = _plan.Count;
        _window = new SemaphoreSlim(options.PrefetchBatches);
        _ring = new TaskCompletionSource<Batch>[options.PrefetchBatches];
        for (int i = 0; i < _ring.Length; i++) _ring[i] = NewSlot();
        _threads = new Thread[Math.Min(options.Workers, Math.Max(1, Steps))];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"loader-r{sampler.Rank}-w{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>Micro-batches (batches for this rank) this loader produces.</summary>
    public int Steps { get; }

    public int Epoch => _start.Epoch;

    /// <summary>Batches handed out so far.</summary>
    public int Consumed => Volatile.Read(ref _consumed);

    /// <summary>The next batch in step order, or null at the end of the epoch. Waits at most TakeTimeout.</summary>
    public Batch? Next(CancellationToken cancellationToken = default)
    {
        var task = CurrentSlot(out int k);
        if (task is null) return null;
        try
        {
            if (!task.Wait(_options.TakeTimeout, cancellationToken))
                throw new TimeoutException($"Waited {_options.TakeTimeout} for batch {k} of epoch {Epoch} from {_threads.Length} loader worker(s) of rank {_sampler.Rank}.");
        }
        catch (AggregateException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
        }
        return Advance(task.Result);
    }

    /// <summary>Async form of <see cref="Next"/>.</summary>
    public async ValueTask<Batch?> NextAsync(CancellationToken cancellationToken)
    {
        var task = CurrentSlot(out int k);
        if (task is null) return null;
        try
        {
            await task.WaitAsync(_options.TakeTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {_options.TakeTimeout} for batch {k} of epoch {Epoch} from {_threads.Length} loader worker(s) of rank {_sampler.Rank}.", ex);
        }
        return Advance(task.Result);
    }

    private Task<Batch>? CurrentSlot(out int k)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            k = _consumed;
            return k >= Steps ? null : _ring[k % _ring.Length].Task;
        }
    }

    private Batch Advance(Batch batch)
    {
        lock (_lock)
        {
            _ring[_consumed % _ring.Length] = NewSlot();
            _consumed++;
        }
        _window.Release();
        return batch;
    }

    private static TaskCompletionSource<Batch> NewSlot() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void WorkerLoop()
    {
        var token = _stop.Token;
        int elements = _dataset.Shape.Elements;
        var scratch = new float[elements];
        bool random = _options.Transforms.IsRandom;
        while (!token.IsCancellationRequested)
        {
            try { _window.Wait(token); }
            catch (OperationCanceledException) { return; }
            int k;
            TaskCompletionSource<Batch> slot;
            lock (_lock)
            {
                if (_disposed) return;
                k = _nextClaim++;
                if (k >= Steps)
                {
                    _window.Release(); // let the other workers see the end too
                    return;
                }
                slot = _ring[k % _ring.Length];
            }
            try
            {
                var micro = _plan[k];
                var indices = new int[micro.RankCount];
                _sampler.Fill(_start.Epoch, micro, indices);
                var batch = Assemble(indices, scratch, random, k, micro);
                if (!slot.TrySetResult(batch)) batch.Dispose();
            }
            catch (Exception ex)
            {
                slot.TrySetException(new DataLoaderException(
                    $"Loader worker {Thread.CurrentThread.Name} failed on batch {k} of epoch {Epoch} (rank {_sampler.Rank}): {ex.Message}", ex));
            }
        }
    }

    private Batch Assemble(int[] indices, float[] scratch, bool random, int k, MicroBatch micro)
    {
        int elements = _dataset.Shape.Elements;
        var s = _dataset.Shape;
        var images = torch.empty([indices.Length, s.Channels, s.Height, s.Width], torch.ScalarType.Float32);
        var labels = torch.empty([indices.Length], torch.ScalarType.Int64);
        try
        {
            var imageSpan = MemoryMarshal.Cast<byte, float>(images.bytes);
            var labelSpan = MemoryMarshal.Cast<byte, long>(labels.bytes);
            for (int j = 0; j < indices.Length; j++)
            {
                var sample = imageSpan.Slice(j * elements, elements);
                labelSpan[j] = _dataset.Get(indices[j], sample);
                // Keyed by (seed, epoch, sample id), never by rank: a sample gets the same augmentation whatever the world size.
                var rng = new SplitMix64(random ? AugmentationSeed(_options.Seed, _start.Epoch, indices[j]) : 0);
                _transform.Apply(sample, scratch, ref rng);
            }
            return new Batch(images, labels, indices, k, micro, new SamplerCursor(_start.Epoch, micro.Start), new SamplerCursor(_start.Epoch, micro.End));
        }
        catch
        {
            images.Dispose();
            labels.Dispose();
            throw;
        }
    }

    /// <summary>The seed of a sample's random transforms in an epoch.</summary>
    public static ulong AugmentationSeed(ulong seed, int epoch, int sampleId) => SplitMix64.Combine(seed, (ulong)epoch, (ulong)sampleId);

    /// <summary>Stops the workers (waiting at most StopTimeout) and frees batches not handed out.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _stop.Cancel();
        long start = Environment.TickCount64;
        foreach (var t in _threads)
        {
            var left = _options.StopTimeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
            t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        foreach (var slot in _ring)
        {
            if (!slot.TrySetCanceled() && slot.Task.IsCompletedSuccessfully) slot.Task.Result.Dispose();
        }
        // _stop and _window are intentionally not disposed: a worker that missed the join deadline may still touch it.
    }
}
