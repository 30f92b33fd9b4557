namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A committed checkpoint: written atomically as manifest.json in <see cref="Directory"/> once every rank
/// of <see cref="Generation"/> acknowledged. Only checkpoints with a manifest are offered for restore.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointManifest(
    string JobId,
    long CheckpointId,
    long Generation,
    long Step,
    int WorldSize,
    EpochPlan EpochPlan,
    string Directory,
    DateTimeOffset CommittedAt,
    IReadOnlyList<RankCheckpointFiles> Ranks);
