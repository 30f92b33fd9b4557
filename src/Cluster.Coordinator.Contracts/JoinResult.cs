namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Outcome of a node join: an accepted node then long-polls for its assignment. <paramref name="Spare"/>: the running
/// generation is full (<c>workers.maxRanks</c>); the joined ranks wait as spares until a loss takes them in.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JoinResult(bool Accepted, string NodeId, string? Reason, bool Spare = false);
