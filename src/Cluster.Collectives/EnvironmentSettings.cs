namespace Cluster.Collectives;

/// <summary>What the env:// rendezvous reads from the environment.</summary>
internal sealed record EnvironmentSettings(
    string MasterAddress, int MasterPort, int Rank, int WorldSize, string JobId, long Generation, byte[] Secret,
    string HostId, string? AdvertiseHost, TransportKind Transport, TimeSpan Timeout);
