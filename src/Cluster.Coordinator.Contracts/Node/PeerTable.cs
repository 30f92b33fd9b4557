namespace Cluster.Coordinator.Contracts;

/// <summary>
/// The peer table of one generation, packed once by the job grain (<see cref="PeerTableCodec"/>) and fetched once per node.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PeerTable(long Generation, int WorldSize, byte[] Packed);
