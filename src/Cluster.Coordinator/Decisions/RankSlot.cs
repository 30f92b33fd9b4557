namespace Cluster.Coordinator.Decisions;

/// <summary>A member admitted to a generation with its global rank.</summary>
[GenerateSerializer, Immutable]
public sealed record RankSlot(int Rank, RendezvousMember Member);
