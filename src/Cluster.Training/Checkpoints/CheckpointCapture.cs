namespace Cluster.Training.Checkpoints;

/// <summary>
/// Every part of one checkpoint frozen at a step boundary, not yet serialised: parts that implement
/// <see cref="ICapturableCheckpointPart"/> copy their tensors, the others are serialised at once.
/// <see cref="WriteTo"/> serialises, writes and hashes them on any thread.
/// </summary>
public sealed class CheckpointCapture : IDisposable
{
    private CheckpointCapture(IReadOnlyList<ICapturedPart> parts) => Parts = parts;

    public IReadOnlyList<ICapturedPart> Parts { get; }

    /// <summary>Call at a step boundary on the training thread.</summary>
    public static CheckpointCapture Take(IReadOnlyList<ICheckpointPart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            CheckpointNames.ValidatePart(part.Name);
            if (!names.Add(part.Name)) throw new ArgumentException($"Two checkpoint parts are named '{part.Name}'.", nameof(parts));
        }
        var captured = new List<ICapturedPart>(parts.Count);
        try
        {
            foreach (var part in parts)
            {
                if (part is ICapturableCheckpointPart capturable)
                {
                    captured.Add(capturable.Capture());
                    continue;
                }
                var ms = new MemoryStream();
                part.Write(ms);
                captured.Add(new SerializedPart(part.Name, ms.GetBuffer().AsMemory(0, (int)ms.Length)));
            }
        }
        catch
        {
            foreach (var part in captured) part.Dispose();
            throw;
        }
        return new CheckpointCapture(captured);
    }

    /// <summary>
    /// Writes every part into <paramref name="directory"/> (each streamed through SHA-256 into a temp file, fsynced,
    /// renamed; the directory fsynced last) and returns what the manifest lists for them.
    /// </summary>
    public IReadOnlyList<Cluster.Coordinator.Contracts.CheckpointFile> WriteTo(string directory)
    {
        Directory.CreateDirectory(directory);
        var files = new List<Cluster.Coordinator.Contracts.CheckpointFile>(Parts.Count);
        foreach (var part in Parts)
        {
            var (size, sha) = Cluster.Coordinator.Contracts.Checkpoints.AtomicFile.WriteHashed(Path.Combine(directory, part.Name), part.Write);
            files.Add(new(part.Name, size, sha));
        }
        Cluster.Coordinator.Contracts.Checkpoints.AtomicFile.SyncDirectory(directory);
        return files;
    }

    public void Dispose()
    {
        foreach (var part in Parts) part.Dispose();
    }
}
