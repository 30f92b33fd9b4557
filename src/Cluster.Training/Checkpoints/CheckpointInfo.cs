namespace Cluster.Training.Checkpoints;

/// <summary>A complete (manifest present) checkpoint directory.</summary>
public sealed record CheckpointInfo(long Step, string Directory);
