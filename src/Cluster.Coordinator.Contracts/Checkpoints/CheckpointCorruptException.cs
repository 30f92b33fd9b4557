namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>A checkpoint failed verification; <see cref="FilePath"/> names the offending file.</summary>
public sealed class CheckpointCorruptException : Exception
{
    public CheckpointCorruptException(string filePath, string message, Exception? inner = null)
        : base($"Corrupt checkpoint file {filePath}: {message}", inner) => FilePath = filePath;

    public string FilePath { get; }
}
