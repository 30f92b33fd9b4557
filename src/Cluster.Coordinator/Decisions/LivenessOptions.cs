namespace Cluster.Coordinator.Decisions;

/// <summary>
/// How long a rank may go without a renewal before its lease lapses, and how long after the start of a generation no lease
/// ends at all (the nodes still fetch their assignment and the peer table, and the ranks connect).
/// </summary>
public sealed record LivenessOptions(TimeSpan LeaseDuration, TimeSpan FirstBeatGrace = default)
{
    /// <summary>Throws <see cref="ArgumentException"/> on a non-positive lease or a negative grace.</summary>
    public LivenessOptions Validated()
    {
        if (LeaseDuration <= TimeSpan.Zero) throw new ArgumentException($"LeaseDuration must be > 0 (got {LeaseDuration})");
        if (FirstBeatGrace < TimeSpan.Zero) throw new ArgumentException($"FirstBeatGrace must be >= 0 (got {FirstBeatGrace})");
        return this;
    }
}
