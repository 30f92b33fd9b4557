namespace Cluster.Coordinator.Contracts;

/// <summary>Tells a rank to write checkpoint <see cref="CheckpointId"/> at <see cref="Step"/> into <see cref="Directory"/>, then ack.</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointDirective(long CheckpointId, long Step, string Directory);
