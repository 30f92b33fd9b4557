namespace Cluster.Coordinator.Decisions;

/// <summary>
/// When a job goes on after losing ranks: at least <see cref="MinRanks"/> survivors (the spec's
/// <c>workers.minRanks</c>) and at most <see cref="MaxRestarts"/> recoveries (<c>restart.maxRestarts</c>); fewer
/// survivors wait up to <see cref="WaitForRanks"/> (<c>restart.waitSeconds</c>) for replacements.
/// </summary>
public sealed record RecoveryOptions(int MinRanks, int MaxRestarts, TimeSpan WaitForRanks)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public RecoveryOptions Validated()
    {
        if (MinRanks < 1) throw new ArgumentException($"MinRanks must be >= 1 (got {MinRanks})");
        if (MaxRestarts < 0) throw new ArgumentException($"MaxRestarts must be >= 0 (got {MaxRestarts})");
        if (WaitForRanks <= TimeSpan.Zero) throw new ArgumentException($"WaitForRanks must be > 0 (got {WaitForRanks})");
        return this;
    }
}
