namespace Cluster.Abstractions;

/// <summary>
/// How many ranks the job runs with. <see cref="Min"/> and <see cref="Max"/> count nodes (whole nodes of
/// <see cref="NprocPerNode"/> ranks form the first generation); <see cref="MinRanks"/> counts ranks: the fewest the job
/// goes on with after losing ranks (elastic recovery), partial nodes included.
/// </summary>
public sealed class WorkersSpec
{
    public int Min { get; set; } = 1;
    public int Max { get; set; } = 1;
    /// <summary>Ranks started per node (host).</summary>
    public int NprocPerNode { get; set; } = 1;
    /// <summary>
    /// Fewest ranks the job trains on after a loss; unset: the job's minimum nodes × ranks per node (no shrinking below
    /// the start; `cluster run --workers N` is one node of N ranks).
    /// </summary>
    public int? MinRanks { get; set; }

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (Min < 1) errors.Add(new($"{path}.min", $"must be >= 1 (got {Min})"));
        if (Max < Min) errors.Add(new($"{path}.max", $"must be >= workers.min ({Min}) (got {Max})"));
        if (Max > 1024) errors.Add(new($"{path}.max", $"must be <= 1024 (got {Max})"));
        if (NprocPerNode < 1) errors.Add(new($"{path}.nprocPerNode", $"must be >= 1 (got {NprocPerNode})"));
        if (MinRanks is < 1) errors.Add(new($"{path}.minRanks", $"must be >= 1 (got {MinRanks})"));
    }
}
