using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>An open (phase-one) checkpoint and the acks received so far.</summary>
[GenerateSerializer, Immutable]
public sealed record PendingCheckpoint(
    long CheckpointId,
    long Generation,
    long Step,
    int WorldSize,
    string Directory,
    DateTimeOffset Deadline,
    IReadOnlyList<CheckpointAck> Acks,
    bool Final = false);
