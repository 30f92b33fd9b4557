namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Fewer than the minimum survived <see cref="Lost"/>: the survivors stop, keep their state and wait (at most the spec's
/// <c>restart.waitSeconds</c>) until replacements bring the job back to <see cref="Quorum"/> ranks.
/// </summary>
public sealed record AwaitRanks(IReadOnlyList<int> Lost, string Reason, int Quorum) : CoordinatorAction;
