namespace Cluster.Training.Checkpoints;

/// <summary>One file of a checkpoint: its size and SHA-256 (lowercase hex).</summary>
public sealed record ManifestEntry(string Name, long Size, string Sha256);

/// <summary>The body of <c>manifest.json</c>; the file also carries the SHA-256 of this body.</summary>
public sealed record CheckpointManifest
{
    public int FormatVersion { get; init; } = 1;
    public required long Step { get; init; }
    public required DateTimeOffset CreatedUtc { get; init; }
    public required IReadOnlyList<ManifestEntry> Files { get; init; }
}

/// <summary>What is stored in <c>manifest.json</c>: the body and its own checksum.</summary>
internal sealed record ManifestFile(CheckpointManifest Manifest, string Sha256);
