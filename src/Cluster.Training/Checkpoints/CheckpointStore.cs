using System.Security.Cryptography;
using System.Text.Json;

namespace Cluster.Training.Checkpoints;

/// <summary>
/// Full-state checkpoints as directories <c>step-N</c>. Each file is written to a temp name, fsynced and renamed;
/// <c>manifest.json</c> (size + SHA-256 of every file, plus its own checksum) is written last, so a directory
/// without a manifest is an incomplete write and is never loaded. Loading verifies every byte first.
/// One writer at a time (rank 0); readers may run anywhere.
/// </summary>
public sealed class CheckpointStore
{
    private readonly CheckpointOptions _options;
    private readonly Dictionary<string, int> _lastSizes = new(StringComparer.Ordinal); // capacity hints: snapshots avoid regrowing

    public CheckpointStore(CheckpointOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
    }

    public string Directory => _options.Directory;
    public TimeProvider TimeProvider => _options.TimeProvider;

    /// <summary>Serialises <paramref name="state"/> and every part into memory (call at a step boundary).</summary>
    public CheckpointSnapshot Snapshot(CheckpointState state, IReadOnlyList<ICheckpointPart> parts) => Serialize(Capture(state, parts));

    /// <summary>
    /// Freezes <paramref name="state"/> and every part at a step boundary: parts that implement
    /// <see cref="ICapturableCheckpointPart"/> copy their tensors, the others are serialised now.
    /// </summary>
    public CheckpointCapture Capture(CheckpointState state, IReadOnlyList<ICheckpointPart> parts)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parts);
        state.Validate();
        var names = new HashSet<string>(StringComparer.Ordinal) { CheckpointNames.State };
        foreach (var part in parts)
        {
            CheckpointNames.ValidatePart(part.Name);
            if (!names.Add(part.Name)) throw new ArgumentException($"Two checkpoint parts are named '{part.Name}'.", nameof(parts));
        }
        var captured = new List<ICapturedPart>(parts.Count + 1);
        try
        {
            foreach (var part in parts)
                captured.Add(part is ICapturableCheckpointPart capturable ? capturable.Capture() : new SerializedPart(part.Name, SerializeNow(part.Name, part.Write)));
            var stamped = state.CreatedUtc == default ? state with { CreatedUtc = _options.TimeProvider.GetUtcNow() } : state;
            captured.Add(new SerializedPart(CheckpointNames.State, JsonSerializer.SerializeToUtf8Bytes(stamped, CheckpointJson.Options)));
        }
        catch
        {
            foreach (var part in captured) part.Dispose();
            throw;
        }
        return new CheckpointCapture(state.Step, captured);
    }

    /// <summary>Serialises a capture into memory (any thread) and disposes it.</summary>
    public CheckpointSnapshot Serialize(CheckpointCapture capture)
    {
        ArgumentNullException.ThrowIfNull(capture);
        using (capture)
        {
            var files = new List<(string, ReadOnlyMemory<byte>)>(capture.Parts.Count);
            foreach (var part in capture.Parts)
                files.Add((part.Name, part is SerializedPart done ? done.Bytes : SerializeNow(part.Name, part.Write)));
            return new CheckpointSnapshot(capture.Step, files);
        }
    }

    private ReadOnlyMemory<byte> SerializeNow(string name, Action<Stream> write)
    {
        lock (_lastSizes)
        {
            var ms = new MemoryStream(_lastSizes.GetValueOrDefault(name, 4096));
            write(ms);
            _lastSizes[name] = (int)ms.Length;
            return ms.GetBuffer().AsMemory(0, (int)ms.Length); // no extra copy
        }
    }

    /// <summary>Persists a snapshot durably, then deletes checkpoints beyond KeepLast. Returns the new checkpoint.</summary>
    public CheckpointInfo Write(CheckpointSnapshot snapshot, out IReadOnlyList<long> deleted)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        System.IO.Directory.CreateDirectory(_options.Directory);
        string dir = Path.Combine(_options.Directory, CheckpointNames.DirectoryName(snapshot.Step));
        if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true); // stale or re-reached step
        System.IO.Directory.CreateDirectory(dir);
        DurableFile.SyncDirectory(_options.Directory);
        var entries = new List<ManifestEntry>(snapshot.Files.Count);
        foreach (var (name, bytes) in snapshot.Files)
        {
            DurableFile.Write(Path.Combine(dir, name), bytes.Span);
            entries.Add(new ManifestEntry(name, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes.Span))));
        }
        DurableFile.SyncDirectory(dir);
        var manifest = new CheckpointManifest { Step = snapshot.Step, CreatedUtc = _options.TimeProvider.GetUtcNow(), Files = entries };
        var file = new ManifestFile(manifest, ManifestChecksum.Compute(manifest));
        DurableFile.Write(Path.Combine(dir, CheckpointNames.Manifest), JsonSerializer.SerializeToUtf8Bytes(file, CheckpointJson.Options));
        DurableFile.SyncDirectory(dir);
        deleted = Prune(snapshot.Step);
        return new CheckpointInfo(snapshot.Step, dir);
    }

    /// <summary>Complete checkpoints (manifest present; not verified), newest first.</summary>
    public IReadOnlyList<CheckpointInfo> List()
    {
        if (!System.IO.Directory.Exists(_options.Directory)) return [];
        var result = new List<CheckpointInfo>();
        foreach (var dir in System.IO.Directory.GetDirectories(_options.Directory))
        {
            if (CheckpointNames.TryParseStep(Path.GetFileName(dir), out long step) && File.Exists(Path.Combine(dir, CheckpointNames.Manifest)))
                result.Add(new CheckpointInfo(step, dir));
        }
        result.Sort((a, b) => b.Step.CompareTo(a.Step));
        return result;
    }

    /// <summary>The newest checkpoint that passes full verification, or null.</summary>
    public CheckpointInfo? Latest()
    {
        foreach (var info in List())
        {
            try
            {
                Verify(info);
                return info;
            }
            catch (CheckpointCorruptException)
            {
                // try the next older one
            }
        }
        return null;
    }

    /// <summary>Checks every file's size and SHA-256 against the manifest; throws <see cref="CheckpointCorruptException"/>.</summary>
    public void Verify(CheckpointInfo checkpoint) => ReadVerified(checkpoint);

    /// <summary>Verifies everything, restores each registered part and returns the state.</summary>
    public CheckpointState Load(CheckpointInfo checkpoint, IReadOnlyList<ICheckpointPart> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var files = ReadVerified(checkpoint);
        string statePath = Path.Combine(checkpoint.Directory, CheckpointNames.State);
        if (!files.TryGetValue(CheckpointNames.State, out var stateBytes))
            throw new CheckpointCorruptException(statePath, "the manifest does not list state.json.");
        CheckpointState state;
        try
        {
            state = JsonSerializer.Deserialize<CheckpointState>(stateBytes, CheckpointJson.Options) ?? throw new JsonException("null");
            state.Validate();
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            throw new CheckpointCorruptException(statePath, $"cannot parse: {ex.Message}", ex);
        }
        foreach (var part in parts)
        {
            string path = Path.Combine(checkpoint.Directory, part.Name);
            if (!files.TryGetValue(part.Name, out var bytes))
                throw new CheckpointCorruptException(path, $"part '{part.Name}' is registered but not in this checkpoint.");
            using var ms = new MemoryStream(bytes, writable: false);
            part.Read(ms);
        }
        return state;
    }

    private Dictionary<string, byte[]> ReadVerified(CheckpointInfo checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var manifest = ReadManifest(checkpoint.Directory);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in manifest.Files)
        {
            string path = Path.Combine(checkpoint.Directory, entry.Name);
            if (!File.Exists(path)) throw new CheckpointCorruptException(path, "listed in the manifest but missing.");
            long size = new FileInfo(path).Length;
            if (size != entry.Size) throw new CheckpointCorruptException(path, $"size {size} bytes, the manifest says {entry.Size} (truncated or overwritten).");
            var bytes = File.ReadAllBytes(path);
            string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (sha != entry.Sha256) throw new CheckpointCorruptException(path, $"SHA-256 {sha} does not match the manifest's {entry.Sha256}.");
            files[entry.Name] = bytes;
        }
        return files;
    }

    private static CheckpointManifest ReadManifest(string dir)
    {
        string path = Path.Combine(dir, CheckpointNames.Manifest);
        if (!File.Exists(path)) throw new CheckpointCorruptException(path, "missing: the checkpoint is incomplete.");
        try
        {
            var file = JsonSerializer.Deserialize<ManifestFile>(File.ReadAllBytes(path), CheckpointJson.Strict) ?? throw new JsonException("null");
            string sha = ManifestChecksum.Compute(file.Manifest);
            if (sha != file.Sha256) throw new CheckpointCorruptException(path, $"manifest checksum {sha} does not match its recorded {file.Sha256}.");
            foreach (var e in file.Manifest.Files)
            {
                if (e.Name is null || e.Name.Contains('/') || e.Name.Contains('\\') || e.Name.StartsWith('.'))
                    throw new CheckpointCorruptException(path, $"invalid file name '{e.Name}'.");
            }
            return file.Manifest;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointCorruptException(path, $"cannot parse: {ex.Message}", ex);
        }
    }

    /// <summary>Deletes complete checkpoints beyond KeepLast and incomplete directories older than <paramref name="newest"/>.</summary>
    private List<long> Prune(long newest)
    {
        var deleted = new List<long>();
        var complete = List();
        foreach (var old in complete.Skip(_options.KeepLast))
        {
            System.IO.Directory.Delete(old.Directory, recursive: true);
            deleted.Add(old.Step);
        }
        foreach (var dir in System.IO.Directory.GetDirectories(_options.Directory))
        {
            if (CheckpointNames.TryParseStep(Path.GetFileName(dir), out long step) && step < newest
                && !File.Exists(Path.Combine(dir, CheckpointNames.Manifest)))
            {
                System.IO.Directory.Delete(dir, recursive: true);
                deleted.Add(step);
            }
        }
        if (deleted.Count > 0) DurableFile.SyncDirectory(_options.Directory);
        return deleted;
    }
}
