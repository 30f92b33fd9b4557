namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Snapshot of a job for CLI/status pages; <see cref="Coordinator"/>: the silo the job grain is active on;
/// <see cref="TargetWorkers"/>: the worker count set with `cluster scale` (null: <c>workers.max</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JobStatus(
    string JobId,
    JobState State,
    long Generation,
    IReadOnlyList<RankInfo> Ranks,
    int WaitingMembers,
    long Step,
    double? Loss,
    double? SamplesPerSecond,
    CheckpointManifest? LastCommittedCheckpoint,
    long? OpenCheckpointId,
    string? FailureReason,
    string? RestoreNote = null,
    string? LastCheckpointError = null,
    IReadOnlyList<RecoveryRecord>? Recoveries = null,
    int Spares = 0,
    string? Coordinator = null,
    int? TargetWorkers = null);
