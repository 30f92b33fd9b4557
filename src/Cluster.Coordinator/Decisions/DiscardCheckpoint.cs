namespace Cluster.Coordinator.Decisions;

/// <summary>The open checkpoint is aborted: delete its partial files; it is never offered for restore.</summary>
public sealed record DiscardCheckpoint(long CheckpointId, string Directory, string Reason) : CoordinatorAction;
