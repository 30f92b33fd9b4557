namespace Cluster.Coordinator.Contracts;

/// <summary>Outcome of a join: accepted members then long-poll for their assignment.</summary>
[GenerateSerializer, Immutable]
public sealed record JoinResult(bool Accepted, string MemberId, string? Reason);
