namespace Cluster.Coordinator.Decisions;

/// <summary>A new generation with these ranks begins; waiters receive their assignments.</summary>
public sealed record StartGeneration(long Generation, IReadOnlyList<RankSlot> Ranks) : CoordinatorAction;
