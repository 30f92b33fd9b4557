namespace Cluster.Coordinator.Contracts;

/// <summary>The files one rank contributed to a committed checkpoint.</summary>
[GenerateSerializer, Immutable]
public sealed record RankCheckpointFiles(int Rank, IReadOnlyList<CheckpointFile> Files);
