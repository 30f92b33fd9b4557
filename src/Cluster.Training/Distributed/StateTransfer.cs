using System.Security.Cryptography;
using Cluster.Collectives;

namespace Cluster.Training.Distributed;

/// <summary>A named byte image of one kind of training state (the model, the optimizer, the trainer's counters).</summary>
public sealed record StateImage(string Name, byte[] Bytes);

/// <summary>
/// Sends one rank's training state to every rank of the communicator over its broadcast: first the length of a
/// <see cref="StateDirectory"/> (names, lengths, SHA-256 of the parts), then the directory, then each part in chunks.
/// Receivers check the directory against their limits before they allocate and each part against its checksum after.
/// </summary>
public static class StateTransfer
{
    /// <summary>Largest directory a receiver accepts.</summary>
    public const int MaxDirectoryBytes = 64 * 1024;
    private const int ChunkBytes = 16 << 20;

    /// <summary>
    /// Collective: every rank calls it; <paramref name="root"/> passes its <paramref name="parts"/> (others pass null).
    /// Returns the parts as the root sent them, with the step the root named.
    /// </summary>
    public static async Task<(long Step, IReadOnlyList<StateImage> Parts)> BroadcastAsync(ICommunicator communicator, int root, long step,
        IReadOnlyList<StateImage>? parts, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var isRoot = communicator.Rank == root;
        if (isRoot && parts is null) throw new ArgumentNullException(nameof(parts), "the root sends its parts");
        var directory = isRoot ? StateDirectory.Pack(step, [.. parts!.Select(p => new StatePart(p.Name, p.Bytes.LongLength, SHA256.HashData(p.Bytes)))]) : [];
        long[] header = [directory.LongLength];
        await communicator.BroadcastAsync<long>(header, root, cancellationToken).ConfigureAwait(false);
        if (header[0] is <= 0 or > MaxDirectoryBytes)
            throw new InvalidDataException($"state transfer from rank {root}: a directory of {header[0]} bytes (at most {MaxDirectoryBytes})");
        if (!isRoot) directory = new byte[header[0]];
        await communicator.BroadcastAsync<byte>(directory, root, cancellationToken).ConfigureAwait(false);
        var (sentStep, entries) = StateDirectory.Unpack(directory, maxBytes);
        var result = new List<StateImage>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry.Length > Array.MaxLength) throw new InvalidDataException($"state transfer from rank {root}: part {entry.Name} of {entry.Length} bytes");
            var bytes = isRoot ? parts![i].Bytes : new byte[entry.Length];
            for (long offset = 0; offset < bytes.LongLength; offset += ChunkBytes)
            {
                var length = (int)Math.Min(ChunkBytes, bytes.LongLength - offset);
                await communicator.BroadcastAsync<byte>(bytes.AsMemory((int)offset, length), root, cancellationToken).ConfigureAwait(false);
            }
            if (!isRoot && !SHA256.HashData(bytes).AsSpan().SequenceEqual(entry.Sha256))
                throw new InvalidDataException($"state transfer from rank {root}: part {entry.Name} ({entry.Length} bytes) does not match its checksum");
            result.Add(new StateImage(entry.Name, bytes));
        }
        return (sentStep, result);
    }

    /// <summary>A 64-bit fingerprint of <paramref name="parts"/> (names and bytes), to compare states across ranks.</summary>
    public static long Fingerprint(IReadOnlyList<StateImage> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(part.Name));
            hash.AppendData(BitConverter.GetBytes(part.Bytes.LongLength));
            hash.AppendData(part.Bytes);
        }
        return BitConverter.ToInt64(hash.GetHashAndReset(), 0);
    }
}
