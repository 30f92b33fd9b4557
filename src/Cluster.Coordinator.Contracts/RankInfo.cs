namespace Cluster.Coordinator.Contracts;

/// <summary>A rank of the current generation as seen in <see cref="JobStatus"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record RankInfo(int Rank, string MemberId, string NodeId, string HostId, string Host, int Port, int Pid, long LastStep);
