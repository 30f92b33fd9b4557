namespace Cluster.Coordinator.Contracts;

/// <summary>Where rank <see cref="Rank"/> listens for collectives; <see cref="HostId"/> lets peers on one host use shared memory.</summary>
[GenerateSerializer, Immutable]
public sealed record PeerEndpoint(int Rank, string Host, int Port, string HostId);
