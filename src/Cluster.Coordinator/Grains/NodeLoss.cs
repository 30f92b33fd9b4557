namespace Cluster.Coordinator.Grains;

/// <summary>A rank of node <see cref="NodeId"/> was lost at <see cref="At"/> (counted for the node's probation).</summary>
[GenerateSerializer, Immutable]
public sealed record NodeLoss([property: Id(0)] string NodeId, [property: Id(1)] DateTimeOffset At);
