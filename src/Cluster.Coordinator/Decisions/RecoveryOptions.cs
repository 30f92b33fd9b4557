namespace Cluster.Coordinator.Decisions;

/// <summary>
/// When a job goes on after losing ranks: at least <see cref="MinRanks"/> survivors (the spec's
/// <c>workers.minRanks</c>) and at most <see cref="MaxRestarts"/> recoveries (<c>restart.maxRestarts</c>) within
/// <see cref="Window"/> (<c>restart.windowMinutes</c>); fewer survivors wait up to <see cref="WaitForRanks"/>
/// (<c>restart.waitSeconds</c>) for replacements. A node with <see cref="ProbationFailures"/> losses within the window
/// (<c>restart.probationFailures</c>, 0: never) is on probation for <see cref="Probation"/> after the last
/// (<c>restart.probationMinutes</c>): no replacement of it is admitted.
/// </summary>
public sealed record RecoveryOptions(int MinRanks, int MaxRestarts, TimeSpan WaitForRanks)
{
    /// <summary>Losses older than this no longer count against <see cref="MaxRestarts"/> (default: the job's whole life).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.MaxValue;

    /// <summary>Losses of one node within <see cref="Window"/> that put it on probation; 0: never.</summary>
    public int ProbationFailures { get; init; }

    /// <summary>How long a node stays on probation after its last loss.</summary>
    public TimeSpan Probation { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public RecoveryOptions Validated()
    {
        if (MinRanks < 1) throw new ArgumentException($"MinRanks must be >= 1 (got {MinRanks})");
        if (MaxRestarts < 0) throw new ArgumentException($"MaxRestarts must be >= 0 (got {MaxRestarts})");
        if (WaitForRanks <= TimeSpan.Zero) throw new ArgumentException($"WaitForRanks must be > 0 (got {WaitForRanks})");
        if (Window <= TimeSpan.Zero) throw new ArgumentException($"Window must be > 0 (got {Window})");
        if (ProbationFailures < 0) throw new ArgumentException($"ProbationFailures must be >= 0 (got {ProbationFailures})");
        if (Probation <= TimeSpan.Zero) throw new ArgumentException($"Probation must be > 0 (got {Probation})");
        return this;
    }
}
