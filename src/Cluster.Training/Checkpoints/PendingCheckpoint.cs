namespace Cluster.Training.Checkpoints;

/// <summary>A checkpoint being persisted in the background. <see cref="Stall"/> is final when returned.</summary>
public sealed record PendingCheckpoint(long Step, TimeSpan Stall, Task<CheckpointWriteResult> Completion);
