using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;

namespace Cluster.Coordinator.Decisions;

/// <summary>Checkpoint policy of a job; <see cref="IntervalSteps"/> 0 disables periodic checkpoints; an empty
/// <see cref="RootDirectory"/> (the spec's lineage root, <c>checkpoint.dir/name</c>) disables checkpoints.</summary>
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

    /// <summary>Spec name recorded in every manifest.</summary>
    public string Lineage { get; init; } = "";

    /// <summary>Spec fields recorded in every manifest (a resume must match them).</summary>
    public IReadOnlyList<SpecField> SpecFields { get; init; } = [];

    /// <summary>Directory of checkpoint <paramref name="checkpointId"/>: lineageRoot/ckpt-00000001.</summary>
    public string DirectoryOf(long checkpointId) => CheckpointFiles.DirectoryOf(RootDirectory, checkpointId);
}
