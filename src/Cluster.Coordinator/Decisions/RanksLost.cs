namespace Cluster.Coordinator.Decisions;

/// <summary>Ranks of the active generation are gone (lease lapsed or non-zero exit); <see cref="Reason"/> says why.</summary>
public sealed record RanksLost(IReadOnlyList<int> Ranks, string Reason) : CoordinatorAction;
