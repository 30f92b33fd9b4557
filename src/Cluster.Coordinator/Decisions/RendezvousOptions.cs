namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Quorum rules. A worker (node) counts once all <see cref="NprocPerNode"/> local ranks joined. A generation
/// starts when <see cref="MaxWorkers"/> are complete, or when at least <see cref="MinWorkers"/> are complete
/// and <see cref="SettleWindow"/> passed since the last join.
/// </summary>
public sealed record RendezvousOptions(int MinWorkers, int MaxWorkers, int NprocPerNode, TimeSpan SettleWindow)
{
    /// <summary>Throws <see cref="ArgumentException"/> on bad values.</summary>
    public RendezvousOptions Validated()
    {
        if (MinWorkers < 1) throw new ArgumentException($"MinWorkers must be >= 1 (got {MinWorkers})");
        if (MaxWorkers < MinWorkers) throw new ArgumentException($"MaxWorkers ({MaxWorkers}) must be >= MinWorkers ({MinWorkers})");
        if (NprocPerNode < 1) throw new ArgumentException($"NprocPerNode must be >= 1 (got {NprocPerNode})");
        if (SettleWindow < TimeSpan.Zero) throw new ArgumentException($"SettleWindow must be >= 0 (got {SettleWindow})");
        return this;
    }
}
