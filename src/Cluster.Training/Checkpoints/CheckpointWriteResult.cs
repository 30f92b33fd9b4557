namespace Cluster.Training.Checkpoints;

/// <summary>
/// Outcome of persisting a checkpoint. <see cref="Stall"/>: time the training thread was blocked (waiting for
/// the previous write + in-memory snapshot); <see cref="WriteTime"/>: time to write, fsync and publish the files.
/// </summary>
public sealed record CheckpointWriteResult(CheckpointInfo Checkpoint, long Bytes, TimeSpan Stall, TimeSpan WriteTime, IReadOnlyList<long> Deleted);
