namespace Cluster.Coordinator.Contracts;

/// <summary>Lease renewal from a rank of generation <see cref="Generation"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record Heartbeat(string MemberId, long Generation, long FencingToken);
