namespace Cluster.Training.Checkpoints;

public sealed record CheckpointOptions
{
    /// <summary>Folder holding the <c>step-N</c> checkpoint directories.</summary>
    public required string Directory { get; init; }
    /// <summary>Complete checkpoints kept; older ones are deleted after each successful write.</summary>
    public int KeepLast { get; init; } = 3;
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory)) throw new ArgumentException("Directory is required.", nameof(Directory));
        if (KeepLast is <= 0 or > 1000) throw new ArgumentOutOfRangeException(nameof(KeepLast), KeepLast, "KeepLast must be in [1, 1000].");
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
