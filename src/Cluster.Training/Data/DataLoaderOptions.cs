namespace Cluster.Training.Data;

public sealed record DataLoaderOptions
{
    /// <summary>The most samples of one rank in one micro-batch (B).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Positions one optimizer step consumes over all ranks (G, see <see cref="Coordinator.Contracts.Data.BatchPlan"/>); 0: B × world size (one micro-batch of B per rank).</summary>
    public int GlobalBatch { get; init; }
    /// <summary>Background threads assembling batches.</summary>
    public int Workers { get; init; } = 2;
    /// <summary>Most batches assembled ahead of the consumer (bounded queue).</summary>
    public int PrefetchBatches { get; init; } = 4;
    /// <summary>Augmentation seed; a sample's random transform depends on (Seed, epoch, sample index) only, not on the rank.</summary>
    public ulong Seed { get; init; }
    public TransformOptions Transforms { get; init; } = TransformOptions.None;
    /// <summary>Longest the consumer waits for one batch before failing.</summary>
    public TimeSpan TakeTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>Longest Dispose waits for the worker threads to stop.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public void Validate()
    {
        if (BatchSize is <= 0 or > 1 << 20) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be in [1, 1048576].");
        if (GlobalBatch is < 0 or > 1 << 30) throw new ArgumentOutOfRangeException(nameof(GlobalBatch), GlobalBatch, "GlobalBatch must be in [0, 2^30].");
        if (Workers is <= 0 or > 64) throw new ArgumentOutOfRangeException(nameof(Workers), Workers, "Workers must be in [1, 64].");
        if (PrefetchBatches is <= 0 or > 1024) throw new ArgumentOutOfRangeException(nameof(PrefetchBatches), PrefetchBatches, "PrefetchBatches must be in [1, 1024].");
        if (TakeTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TakeTimeout), TakeTimeout, "TakeTimeout must be positive.");
        if (StopTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(StopTimeout), StopTimeout, "StopTimeout must be positive.");
        ArgumentNullException.ThrowIfNull(Transforms);
    }
}
