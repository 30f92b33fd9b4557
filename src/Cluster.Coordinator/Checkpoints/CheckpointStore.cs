using System.Text.Json;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Checkpoints;

/// <summary>
/// Coordinator side of checkpoint files: verifies what ranks acked, writes the manifest atomically
/// (temp file, fsync, rename, fsync directory) and deletes discarded or pruned checkpoint directories.
/// Assumes the checkpoint directory is on storage the coordinator can reach (shared or local filesystem).
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>Name of the commit marker in a checkpoint directory.</summary>
    public const string ManifestFileName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Checks every acked file exists with the acked size (sha256 is trusted from the rank: hashing large files twice is too slow).</summary>
    public static void VerifyFiles(CheckpointManifest manifest)
    {
        foreach (var rank in manifest.Ranks)
            foreach (var file in rank.Files)
            {
                if (Path.IsPathRooted(file.Name) || file.Name.Split('/', '\\').Contains(".."))
                    throw new InvalidDataException($"checkpoint {manifest.CheckpointId}: rank {rank.Rank} file name '{file.Name}' must be relative to the checkpoint directory");
                var path = Path.Combine(manifest.Directory, file.Name);
                var info = new FileInfo(path);
                if (!info.Exists)
                    throw new InvalidDataException($"checkpoint {manifest.CheckpointId}: rank {rank.Rank} acked '{file.Name}' but {path} does not exist");
                if (info.Length != file.Size)
                    throw new InvalidDataException($"checkpoint {manifest.CheckpointId}: rank {rank.Rank} acked '{file.Name}' with {file.Size} bytes but {path} has {info.Length}");
            }
    }

    /// <summary>Verifies files, then writes manifest.json atomically. Only after this returns is the checkpoint committed.</summary>
    public async Task CommitAsync(CheckpointManifest manifest, CancellationToken cancellationToken)
    {
        VerifyFiles(manifest);
        Directory.CreateDirectory(manifest.Directory);
        var target = Path.Combine(manifest.Directory, ManifestFileName);
        await AtomicFile.WriteAsync(target, JsonSerializer.SerializeToUtf8Bytes(manifest, Json), cancellationToken);
    }

    /// <summary>Reads a committed manifest, or null when the directory holds no manifest (never committed).</summary>
    public static async Task<CheckpointManifest?> ReadAsync(string directory, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(path)) return null;
        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<CheckpointManifest>(stream, Json, cancellationToken)
            ?? throw new InvalidDataException($"{path} is empty");
    }

    /// <summary>Deletes a checkpoint directory (manifest first, so a half-deleted one is never restorable).</summary>
    public static void Delete(string directory)
    {
        if (!Directory.Exists(directory)) return;
        File.Delete(Path.Combine(directory, ManifestFileName));
        Directory.Delete(directory, recursive: true);
    }
}
