using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Cluster.Coordinator.Contracts.Checkpoints;
using Orleans.Serialization.Serializers;
using Orleans.Storage;

namespace Cluster.Coordinator.Storage;

/// <summary>
/// Grain storage for a single embedded silo: one JSON file per grain and state name under
/// <see cref="JsonFileGrainStorageOptions.RootDirectory"/>, replaced atomically (temp, fsync, rename).
/// The ETag is the SHA-256 of the file content; a write whose ETag does not match the file on disk throws
/// <see cref="InconsistentStateException"/>. Not for several silos sharing one directory.
/// </summary>
public sealed class JsonFileGrainStorage(string name, JsonFileGrainStorageOptions options, IActivatorProvider activators) : IGrainStorage
{
    private static readonly JsonSerializerOptions Json = GrainStateJson.Options;
    private readonly JsonFileGrainStorageOptions _options = options.Validated();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>Name the storage is registered under.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            if (!File.Exists(path))
            {
                grainState.State = activators.GetActivator<T>().Create();
                grainState.ETag = null;
                grainState.RecordExists = false;
                return;
            }
            var bytes = await File.ReadAllBytesAsync(path);
            grainState.State = JsonSerializer.Deserialize<T>(bytes, Json)
                ?? throw new InvalidDataException($"grain storage '{Name}': {path} holds no state for {grainId}");
            grainState.ETag = ETagOf(bytes);
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            await CheckETagAsync(path, grainId, grainState.ETag);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(grainState.State, Json);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await AtomicFile.WriteAsync(path, bytes, CancellationToken.None);
            grainState.ETag = ETagOf(bytes);
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var path = PathOf(stateName, grainId);
        var gate = _locks.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            await CheckETagAsync(path, grainId, grainState.ETag);
            File.Delete(path);
            grainState.State = activators.GetActivator<T>().Create();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task CheckETagAsync(string path, GrainId grainId, string? expected)
    {
        string? stored = File.Exists(path) ? ETagOf(await File.ReadAllBytesAsync(path)) : null;
        if (!string.Equals(stored, expected, StringComparison.Ordinal))
            throw new InconsistentStateException(
                $"grain storage '{Name}': state of {grainId} in {path} changed underneath (stored ETag {stored ?? "none"}, caller had {expected ?? "none"})",
                stored ?? "", expected ?? "");
    }

    private string PathOf(string stateName, GrainId grainId) =>
        Path.Combine(_options.RootDirectory, Uri.EscapeDataString(stateName), Uri.EscapeDataString(grainId.ToString()) + ".json");

    private static string ETagOf(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content))[..32];
}
