namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Phase-one vote of a rank for checkpoint <see cref="CheckpointId"/>: the files it wrote (durably, fsynced)
/// and the sampler position it saved. <see cref="Error"/> non-null votes to abort.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointAck(
    string MemberId,
    long Generation,
    long FencingToken,
    long CheckpointId,
    int Rank,
    int Epoch,
    long Cursor,
    IReadOnlyList<CheckpointFile> Files,
    string? Error);
