namespace Cluster.Collectives;

/// <summary>Where rank <paramref name="Rank"/> listens. Ranks with equal <paramref name="HostId"/> share a host
/// and talk over shared memory when <see cref="TransportKind.Auto"/> is chosen.</summary>
public sealed record PeerInfo(int Rank, string Host, int Port, string HostId);
