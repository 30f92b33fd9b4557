namespace Cluster.Abstractions;

/// <summary>
/// How many ranks the job runs with. <see cref="Min"/> and <see cref="Max"/> count nodes (whole nodes of
/// <see cref="NprocPerNode"/> ranks form the first generation); <see cref="MinRanks"/> and <see cref="MaxRanks"/> count
/// ranks: the fewest the job goes on with after losing ranks (elastic recovery, partial nodes included) and the most a
/// generation holds. Ranks of the admitted nodes beyond <see cref="MaxRanks"/> wait as spares and take the place of lost ones.
/// </summary>
public sealed class WorkersSpec
{
    public int Min { get; set; } = 1;
    public int Max { get; set; } = 1;
    /// <summary>Ranks started per node (host).</summary>
    public int NprocPerNode { get; set; } = 1;
    /// <summary>
    /// Fewest ranks the job trains on after a loss; unset: the job's minimum nodes × ranks per node, at most
    /// <see cref="MaxRanks"/> (no shrinking below the start; `cluster run --workers N` is one node of N ranks).
    /// </summary>
    public int? MinRanks { get; set; }
    /// <summary>
    /// Most ranks a generation holds; unset: the job's maximum nodes × ranks per node (no spares). The other ranks of the
    /// admitted nodes, and replacements that find the generation full, wait as spares: a loss takes them in at once.
    /// </summary>
    public int? MaxRanks { get; set; }

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (Min < 1) errors.Add(new($"{path}.min", $"must be >= 1 (got {Min})"));
        if (Max < Min) errors.Add(new($"{path}.max", $"must be >= workers.min ({Min}) (got {Max})"));
        if (Max > 1024) errors.Add(new($"{path}.max", $"must be <= 1024 (got {Max})"));
        if (NprocPerNode < 1) errors.Add(new($"{path}.nprocPerNode", $"must be >= 1 (got {NprocPerNode})"));
        if (MinRanks is < 1) errors.Add(new($"{path}.minRanks", $"must be >= 1 (got {MinRanks})"));
        if (MaxRanks is < 1) errors.Add(new($"{path}.maxRanks", $"must be >= 1 (got {MaxRanks})"));
        if (MinRanks is { } min && MaxRanks is { } max && max < min) errors.Add(new($"{path}.maxRanks", $"must be >= workers.minRanks ({min}) (got {max})"));
    }

    /// <summary>
    /// The job's rank bounds for <paramref name="minNodes"/>..<paramref name="maxNodes"/> nodes of <paramref name="nproc"/>
    /// ranks (the spec's, or `cluster run`'s one node): (fewest after a loss, most per generation); <paramref name="source"/>
    /// names the spec in an error. Throws
    /// <see cref="JobSpecException"/> when <see cref="MaxRanks"/> is more than the nodes can hold.
    /// </summary>
    public (int Min, int Max) RankBounds(int minNodes, int maxNodes, int nproc, string source)
    {
        var most = (long)maxNodes * nproc;
        if (MaxRanks is { } max && max > most)
            throw new JobSpecException(source, [new JobSpecError("workers.maxRanks", $"must be <= {most}: {maxNodes} node(s) × {nproc} rank(s) per node (got {max})")]);
        var maxRanks = MaxRanks ?? (int)Math.Min(most, int.MaxValue);
        if (MinRanks is { } min && min > maxRanks)
            throw new JobSpecException(source, [new JobSpecError("workers.minRanks", $"must be <= {maxRanks}, the most ranks a generation holds (got {min})")]);
        return (MinRanks ?? (int)Math.Min((long)minNodes * nproc, maxRanks), maxRanks);
    }
}
