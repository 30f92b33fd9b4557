namespace Cluster.Coordinator.Contracts;

/// <summary>Reply to <see cref="IJobGrain.WaitForAssignment"/>; never blocks longer than the wait asked for.</summary>
[GenerateSerializer, Immutable]
public sealed record AssignmentResult(AssignmentStatus Status, RankAssignment? Assignment, string? Reason);
