namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>
/// Where a run of a spec starts (<see cref="CheckpointLineage.Start"/>): the checkpoint it restores (null: fresh), a note
/// for the user, whether the lineage's run is already complete, and, when the spec does not match its checkpoints, why
/// (the caller refuses the run).
/// </summary>
public sealed record LineageStart(CheckpointManifest? RestoreFrom, string Note, bool Complete, string? Mismatch);
