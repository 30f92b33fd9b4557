namespace Cluster.Coordinator.Decisions;

/// <summary>How long a rank may stay silent before its lease lapses.</summary>
public sealed record LivenessOptions(TimeSpan LeaseDuration)
{
    /// <summary>Throws <see cref="ArgumentException"/> on a non-positive lease.</summary>
    public LivenessOptions Validated() =>
        LeaseDuration > TimeSpan.Zero ? this : throw new ArgumentException($"LeaseDuration must be > 0 (got {LeaseDuration})");
}
