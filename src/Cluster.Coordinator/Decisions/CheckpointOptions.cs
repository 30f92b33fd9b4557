namespace Cluster.Coordinator.Decisions;

/// <summary>Checkpoint policy of a job; <see cref="IntervalSteps"/> 0 disables periodic checkpoints.</summary>
public sealed record CheckpointOptions(
    string JobId,
    string RootDirectory,
    long IntervalSteps,
    int KeepLast,
    long Seed,
    TimeSpan AckTimeout)
{
    /// <summary>Throws <see cref="ArgumentException"/> on bad values.</summary>
    public CheckpointOptions Validated()
    {
        if (IntervalSteps < 0) throw new ArgumentException($"IntervalSteps must be >= 0 (got {IntervalSteps})");
        if (IntervalSteps > 0 && string.IsNullOrWhiteSpace(RootDirectory)) throw new ArgumentException("RootDirectory is required when IntervalSteps > 0");
        if (KeepLast < 1) throw new ArgumentException($"KeepLast must be >= 1 (got {KeepLast})");
        if (AckTimeout <= TimeSpan.Zero) throw new ArgumentException($"AckTimeout must be > 0 (got {AckTimeout})");
        return this;
    }

    /// <summary>Directory of checkpoint <paramref name="checkpointId"/>: root/jobId/ckpt-00000001.</summary>
    public string DirectoryOf(long checkpointId) => Path.Combine(RootDirectory, JobId, $"ckpt-{checkpointId:D8}");
}
