using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>
/// The one checkpoint layout of the project: <c>root/ckpt-NNNNNNNN/</c> holds the files the ranks wrote and, once
/// committed, <c>manifest.json</c> (every file's size and SHA-256, the lineage, and the manifest's own checksum). A
/// directory without a manifest was never committed and is never restored. Used by the coordinator (commit, prune,
/// discard), by ranks (restore, verified byte for byte) and by runs without a coordinator.
/// </summary>
public static class CheckpointFiles
{
    /// <summary>Name of the commit marker in a checkpoint directory.</summary>
    public const string ManifestFileName = "manifest.json";
    private const string Prefix = "ckpt-";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    // Reading: an unknown or differently cased property name (a flipped bit) is an error, not silently ignored or matched.
    private static readonly JsonSerializerOptions Strict = new(Json)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, PropertyNameCaseInsensitive = false,
    };

    /// <summary>Directory of checkpoint <paramref name="checkpointId"/> under a lineage root.</summary>
    public static string DirectoryOf(string root, long checkpointId) =>
        Path.Combine(root, Prefix + checkpointId.ToString("D8", CultureInfo.InvariantCulture));

    /// <summary>Parses <c>ckpt-N</c>.</summary>
    public static bool TryParseId(string directoryName, out long checkpointId)
    {
        checkpointId = 0;
        return directoryName.StartsWith(Prefix, StringComparison.Ordinal) && directoryName.Length <= Prefix.Length + 19
            && long.TryParse(directoryName.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out checkpointId);
    }

    /// <summary>Checks every listed file exists with its listed size and a name relative to the checkpoint directory.</summary>
    private static void VerifySizes(CheckpointManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        foreach (var (rank, file, path) in Entries(manifest))
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new CheckpointCorruptException(path, $"rank {rank} listed '{file.Name}' but it does not exist");
            if (info.Length != file.Size) throw new CheckpointCorruptException(path, $"rank {rank} listed {file.Size} bytes but the file has {info.Length}");
        }
    }

    /// <summary>Checks sizes, stamps the checksum and writes manifest.json atomically: only then is the checkpoint committed.</summary>
    public static CheckpointManifest Commit(CheckpointManifest manifest)
    {
        VerifySizes(manifest);
        var stamped = manifest with { Checksum = ChecksumOf(manifest) };
        AtomicFile.Write(Path.Combine(manifest.Directory, ManifestFileName), JsonSerializer.SerializeToUtf8Bytes(stamped, Json));
        return stamped;
    }

    /// <summary>The committed manifest in <paramref name="directory"/>, or null when there is none; a damaged one throws.</summary>
    public static CheckpointManifest? TryRead(string directory)
    {
        var path = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(path)) return null;
        CheckpointManifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllBytes(path), Strict) ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointCorruptException(path, $"cannot parse: {e.Message}", e);
        }
        if (ChecksumOf(manifest) != manifest.Checksum)
            throw new CheckpointCorruptException(path, $"manifest checksum {ChecksumOf(manifest)} does not match its recorded {manifest.Checksum}");
        // Found where it lies now (a checkpoint folder may have been moved as a whole).
        return manifest with { Directory = Path.GetFullPath(directory) };
    }

    /// <summary>Reads every file and compares size and SHA-256 with the manifest; throws naming the first bad file.</summary>
    public static void Verify(CheckpointManifest manifest)
    {
        foreach (var (rank, file, _) in Entries(manifest)) ReadVerified(manifest, rank, file.Name);
    }

    /// <summary>The bytes of <paramref name="name"/> written by <paramref name="rank"/>, after checking size and SHA-256.</summary>
    public static byte[] ReadVerified(CheckpointManifest manifest, int rank, string name)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var path = Path.Combine(manifest.Directory, name);
        var file = manifest.FileOf(rank, name) ?? throw new CheckpointCorruptException(path, $"checkpoint {manifest.CheckpointId} lists no '{name}' of rank {rank}");
        CheckName(manifest, rank, file.Name, path);
        if (!File.Exists(path)) throw new CheckpointCorruptException(path, "listed in the manifest but missing");
        var length = new FileInfo(path).Length;
        if (length != file.Size) throw new CheckpointCorruptException(path, $"{length} bytes, the manifest says {file.Size} (truncated or overwritten)");
        var bytes = File.ReadAllBytes(path);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (sha != file.Sha256) throw new CheckpointCorruptException(path, $"SHA-256 {sha} does not match the manifest's {file.Sha256}");
        return bytes;
    }

    /// <summary>Deletes a checkpoint directory, manifest first, so a half-deleted one is never restorable.</summary>
    public static void Delete(string directory)
    {
        if (!Directory.Exists(directory)) return;
        File.Delete(Path.Combine(directory, ManifestFileName));
        Directory.Delete(directory, recursive: true);
    }

    private static IEnumerable<(int Rank, CheckpointFile File, string Path)> Entries(CheckpointManifest manifest)
    {
        foreach (var rank in manifest.Ranks)
            foreach (var file in rank.Files)
            {
                var path = Path.Combine(manifest.Directory, file.Name);
                CheckName(manifest, rank.Rank, file.Name, path);
                yield return (rank.Rank, file, path);
            }
    }

    private static void CheckName(CheckpointManifest manifest, int rank, string name, string path)
    {
        if (string.IsNullOrEmpty(name) || Path.IsPathRooted(name) || name.Contains('/') || name.Contains('\\') || name.StartsWith('.'))
            throw new CheckpointCorruptException(path, $"checkpoint {manifest.CheckpointId}: rank {rank} file name '{name}' must be a plain name inside the checkpoint directory");
    }

    /// <summary>SHA-256 of the manifest's JSON with an empty checksum and directory (both vary with where it is read).</summary>
    private static string ChecksumOf(CheckpointManifest manifest) =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(manifest with { Checksum = "", Directory = "" }, Json)));
}
