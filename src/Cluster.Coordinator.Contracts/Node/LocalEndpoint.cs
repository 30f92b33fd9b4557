namespace Cluster.Coordinator.Contracts;

/// <summary>One local rank of a joining node: where its collective listener is and its process id.</summary>
[GenerateSerializer, Immutable]
public sealed record LocalEndpoint(int LocalRank, int Port, int Pid);
