namespace Cluster.Coordinator.Contracts;

/// <summary>The global rank and fencing token a local rank got in a generation.</summary>
[GenerateSerializer, Immutable]
public sealed record LocalSlot(int LocalRank, int Rank, long FencingToken);
