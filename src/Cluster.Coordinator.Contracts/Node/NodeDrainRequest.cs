namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A stopping node agent's request to leave the job at the next step boundary: the node's join proof and the generation
/// it holds ranks in (a request for another generation is refused).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeDrainRequest(string NodeId, long Generation, string Proof);
