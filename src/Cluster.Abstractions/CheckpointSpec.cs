namespace Cluster.Abstractions;

/// <summary>Where and how often full-state checkpoints are written. Empty <see cref="Dir"/> disables checkpointing.</summary>
public sealed class CheckpointSpec
{
    public string Dir { get; set; } = "";
    /// <summary>Save every this many optimizer steps (0: only at the end of each epoch).</summary>
    public int IntervalSteps { get; set; }
    public int KeepLast { get; set; } = 3;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (IntervalSteps < 0) errors.Add(new($"{path}.intervalSteps", $"must be >= 0 (got {IntervalSteps})"));
        if (KeepLast < 1) errors.Add(new($"{path}.keepLast", $"must be >= 1 (got {KeepLast})"));
    }
}
