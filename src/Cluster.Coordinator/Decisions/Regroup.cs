namespace Cluster.Coordinator.Decisions;

/// <summary>Go on without <see cref="Lost"/>: the survivors form the next generation at once.</summary>
public sealed record Regroup(IReadOnlyList<int> Lost, string Reason) : CoordinatorAction;
