namespace Cluster.Coordinator.Contracts;

/// <summary>A file a rank wrote for a checkpoint, relative to the checkpoint directory.</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointFile(string Name, long Size, string Sha256);
