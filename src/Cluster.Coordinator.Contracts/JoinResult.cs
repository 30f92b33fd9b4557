namespace Cluster.Coordinator.Contracts;

/// <summary>Outcome of a node join: an accepted node then long-polls for its assignment.</summary>
[GenerateSerializer, Immutable]
public sealed record JoinResult(bool Accepted, string NodeId, string? Reason);
