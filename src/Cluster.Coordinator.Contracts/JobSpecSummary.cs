namespace Cluster.Coordinator.Contracts;

/// <summary>
/// What the coordinator needs from a job spec. The full spec travels as its YAML text (parsed by workers);
/// the fields below are the ones the coordinator acts on. A "worker" is a node agent hosting
/// <see cref="NprocPerNode"/> rank processes (like torchrun's --nnodes=min:max). <see cref="CheckpointDirectory"/> is the
/// spec's lineage root (<c>checkpoint.dir/name</c>); <see cref="Fresh"/> ignores the checkpoints already there.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobSpecSummary(
    string JobId,
    string SpecYaml,
    int MinWorkers,
    int MaxWorkers,
    int NprocPerNode,
    long CheckpointIntervalSteps,
    string CheckpointDirectory,
    int KeepLastCheckpoints,
    int RestartBudget,
    long Seed,
    bool Fresh = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(JobId) || JobId.Length > 200 || JobId.Any(c => char.IsControl(c) || c is '/' or '\\'))
            throw new ArgumentException($"jobId '{JobId}' must be 1-200 characters without '/', '\\' or control characters", nameof(JobId));
        if (MinWorkers < 1) throw new ArgumentException($"minWorkers must be >= 1 (got {MinWorkers})", nameof(MinWorkers));
        if (MaxWorkers < MinWorkers) throw new ArgumentException($"maxWorkers ({MaxWorkers}) must be >= minWorkers ({MinWorkers})", nameof(MaxWorkers));
        if (NprocPerNode < 1) throw new ArgumentException($"nprocPerNode must be >= 1 (got {NprocPerNode})", nameof(NprocPerNode));
        if ((long)MaxWorkers * NprocPerNode > 65535) throw new ArgumentException($"world size maxWorkers*nprocPerNode must be <= 65535 (got {(long)MaxWorkers * NprocPerNode})", nameof(MaxWorkers));
        if (CheckpointIntervalSteps < 0) throw new ArgumentException($"checkpointIntervalSteps must be >= 0 (got {CheckpointIntervalSteps})", nameof(CheckpointIntervalSteps));
        if (CheckpointIntervalSteps > 0 && string.IsNullOrWhiteSpace(CheckpointDirectory))
            throw new ArgumentException("checkpointDirectory is required when checkpointIntervalSteps > 0", nameof(CheckpointDirectory));
        if (KeepLastCheckpoints < 1) throw new ArgumentException($"keepLastCheckpoints must be >= 1 (got {KeepLastCheckpoints})", nameof(KeepLastCheckpoints));
        if (RestartBudget < 0) throw new ArgumentException($"restartBudget must be >= 0 (got {RestartBudget})", nameof(RestartBudget));
        ArgumentNullException.ThrowIfNull(SpecYaml);
    }
}
