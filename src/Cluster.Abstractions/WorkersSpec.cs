namespace Cluster.Abstractions;

/// <summary>How many ranks the job runs with (elastic between <see cref="Min"/> and <see cref="Max"/>).</summary>
public sealed class WorkersSpec
{
    public int Min { get; set; } = 1;
    public int Max { get; set; } = 1;
    /// <summary>Ranks started per node (host).</summary>
    public int NprocPerNode { get; set; } = 1;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (Min < 1) errors.Add(new($"{path}.min", $"must be >= 1 (got {Min})"));
        if (Max < Min) errors.Add(new($"{path}.max", $"must be >= workers.min ({Min}) (got {Max})"));
        if (Max > 1024) errors.Add(new($"{path}.max", $"must be <= 1024 (got {Max})"));
        if (NprocPerNode < 1) errors.Add(new($"{path}.nprocPerNode", $"must be >= 1 (got {NprocPerNode})"));
    }
}
