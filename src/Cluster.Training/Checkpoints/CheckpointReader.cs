using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;

namespace Cluster.Training.Checkpoints;

/// <summary>Restores parts from a committed checkpoint: each file is checked against the manifest (size, SHA-256) before it is read.</summary>
public static class CheckpointReader
{
    /// <summary>Reads every part from the files rank <paramref name="rank"/> wrote; throws <see cref="CheckpointCorruptException"/> naming a bad file.</summary>
    public static void Load(CheckpointManifest manifest, IReadOnlyList<ICheckpointPart> parts, int rank = 0)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(parts);
        foreach (var part in parts)
        {
            using var stream = new MemoryStream(CheckpointFiles.ReadVerified(manifest, rank, part.Name), writable: false);
            part.Read(stream);
        }
    }
}
