namespace Cluster.Training.Checkpoints;

/// <summary>All files of one checkpoint, serialised in memory (taken at a step boundary), ready to persist.</summary>
public sealed record CheckpointSnapshot(long Step, IReadOnlyList<(string Name, ReadOnlyMemory<byte> Bytes)> Files)
{
    public long TotalBytes => Files.Sum(f => (long)f.Bytes.Length);
}
