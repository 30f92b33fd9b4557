namespace Cluster.Coordinator.Decisions;

/// <summary>Phase one begins: ranks write checkpoint <see cref="CheckpointId"/> at <see cref="Step"/> and ack.</summary>
public sealed record OpenCheckpoint(long CheckpointId, long Step, string Directory) : CoordinatorAction;
