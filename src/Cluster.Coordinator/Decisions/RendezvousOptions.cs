namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Quorum rules. A worker (node) counts once all <see cref="NprocPerNode"/> local ranks joined. A generation
/// starts when <see cref="MaxWorkers"/> are complete, or when at least <see cref="MinWorkers"/> are complete
/// and <see cref="SettleWindow"/> passed since the last join (or the complete nodes hold <see cref="RankLimit"/> ranks).
/// </summary>
public sealed record RendezvousOptions(int MinWorkers, int MaxWorkers, int NprocPerNode, TimeSpan SettleWindow)
{
    /// <summary>Most ranks a generation holds (<c>workers.maxRanks</c>); null: <see cref="MaxWorkers"/> × <see cref="NprocPerNode"/>.</summary>
    public int? MaxRanks { get; init; }

    /// <summary>Most ranks a generation holds; the other members of the admitted nodes wait as spares.</summary>
    public int RankLimit => MaxRanks ?? MaxWorkers * NprocPerNode;

    /// <summary>Fewest ranks a generation may train with (<c>workers.minRanks</c>); null: <see cref="MinWorkers"/> × <see cref="NprocPerNode"/>.</summary>
    public int? MinRanks { get; init; }

    /// <summary>Fewest ranks a generation may train with: a drain that leaves fewer is refused.</summary>
    public int RankFloor => MinRanks ?? MinWorkers * NprocPerNode;

    /// <summary>Throws <see cref="ArgumentException"/> on bad values.</summary>
    public RendezvousOptions Validated()
    {
        if (MinWorkers < 1) throw new ArgumentException($"MinWorkers must be >= 1 (got {MinWorkers})");
        if (MaxWorkers < MinWorkers) throw new ArgumentException($"MaxWorkers ({MaxWorkers}) must be >= MinWorkers ({MinWorkers})");
        if (NprocPerNode < 1) throw new ArgumentException($"NprocPerNode must be >= 1 (got {NprocPerNode})");
        if (MaxRanks is { } max && (max < 1 || max > (long)MaxWorkers * NprocPerNode))
            throw new ArgumentException($"MaxRanks must be in 1..{(long)MaxWorkers * NprocPerNode} (got {max})");
        if (MinRanks is { } min && (min < 1 || min > RankLimit))
            throw new ArgumentException($"MinRanks must be in 1..{RankLimit} (got {min})");
        if (SettleWindow < TimeSpan.Zero) throw new ArgumentException($"SettleWindow must be >= 0 (got {SettleWindow})");
        return this;
    }
}
