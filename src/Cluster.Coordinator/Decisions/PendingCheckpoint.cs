using System.Collections.Immutable;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// An open (phase-one) checkpoint and the acks received so far, in arrival order (<see cref="Acks"/>) and keyed by rank
/// (<see cref="AckedRanks"/>), so an ack costs O(log N), not a scan. The acks are not persisted one by one: a coordinator
/// that restarts with a checkpoint open discards it.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PendingCheckpoint(
    long CheckpointId,
    long Generation,
    long Step,
    int WorldSize,
    string Directory,
    DateTimeOffset Deadline,
    IReadOnlyList<CheckpointAck> Acks,
    bool Final = false,
    ImmutableHashSet<int>? AckedRanks = null)
{
    /// <summary>True when rank <paramref name="rank"/> has acked.</summary>
    public bool HasAck(int rank) => AckedRanks?.Contains(rank) ?? false;

    /// <summary>This checkpoint with <paramref name="ack"/> added.</summary>
    public PendingCheckpoint With(CheckpointAck ack) => this with
    {
        Acks = (Acks as ImmutableList<CheckpointAck> ?? [.. Acks]).Add(ack),
        AckedRanks = (AckedRanks ?? []).Add(ack.Rank),
    };
}
