namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Phase-one vote of rank <see cref="Rank"/> of <see cref="Generation"/> for checkpoint <see cref="CheckpointId"/>: the files
/// it wrote (durably, fsynced) and the sampler position it saved. <see cref="Error"/> non-null votes to abort. Built by the
/// job grain from a <see cref="CheckpointVote"/> after the node's fence check.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointAck(
    long CheckpointId,
    long Generation,
    int Rank,
    int Epoch,
    long Cursor,
    IReadOnlyList<CheckpointFile> Files,
    string? Error);

/// <summary>A rank's vote as its node agent carries it (the grain adds generation and rank after fencing).</summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointVote(long CheckpointId, int Epoch, long Cursor, IReadOnlyList<CheckpointFile> Files, string? Error);
