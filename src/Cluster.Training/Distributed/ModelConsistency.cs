using System.Security.Cryptography;
using System.Text;
using Cluster.Collectives;
using static TorchSharp.torch;

namespace Cluster.Training.Distributed;

/// <summary>Checks that every rank built the same model and copies rank 0's state everywhere.</summary>
public static class ModelConsistency
{
    /// <summary>All-gathers a hash of (name, dtype, shape) of every parameter and buffer. On mismatch every rank throws
    /// <see cref="ModelMismatchException"/> naming the first differing entry.</summary>
    public static async Task VerifySameShapesAsync(nn.Module module, ICommunicator communicator, CancellationToken cancellationToken)
    {
        var entries = Describe(module);
        var world = communicator.WorldSize;
        if (world == 1) return;
        long[] mine = [Hash(string.Join("\n", entries)), entries.Count];
        var all = new long[2 * world];
        await communicator.AllGatherAsync<long>(mine, all, cancellationToken).ConfigureAwait(false);
        var same = true;
        long maxCount = 0;
        for (var r = 0; r < world; r++)
        {
            same &= all[2 * r] == mine[0] && all[2 * r + 1] == mine[1];
            maxCount = Math.Max(maxCount, all[2 * r + 1]);
        }
        if (same) return;

        // Second round (every rank sees the mismatch, so every rank joins): per-entry hashes padded to the longest list.
        var perEntry = new long[maxCount];
        for (var i = 0; i < entries.Count; i++) perEntry[i] = Hash(entries[i]);
        var gathered = new long[maxCount * world];
        await communicator.AllGatherAsync<long>(perEntry, gathered, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < maxCount; i++)
        {
            for (var r = 1; r < world; r++)
            {
                if (gathered[r * maxCount + i] == gathered[i]) continue;
                var local = i < entries.Count ? entries[i] : "(none)";
                throw new ModelMismatchException(
                    $"model differs across ranks: entry #{i} differs between rank 0 and rank {r}; on this rank (rank {communicator.Rank}) it is {local}");
            }
        }
        throw new ModelMismatchException("model differs across ranks (parameter lists have different lengths)");
    }

    /// <summary>Copies <paramref name="root"/>'s parameters and buffers (float32 and int64) to every rank.</summary>
    public static async Task BroadcastStateAsync(nn.Module module, ICommunicator communicator, int root, CancellationToken cancellationToken)
    {
        if (communicator.WorldSize == 1) return;
        var tensors = module.parameters().Concat(module.buffers()).ToList();
        var floats = tensors.Where(t => t.dtype == ScalarType.Float32).ToList();
        var longs = tensors.Where(t => t.dtype == ScalarType.Int64).ToList();
        var other = tensors.FirstOrDefault(t => t.dtype is not (ScalarType.Float32 or ScalarType.Int64));
        if (other is not null) throw new NotSupportedException($"cannot broadcast a {other.dtype} tensor; use float32 master weights");
        var floatData = GC.AllocateUninitializedArray<float>((int)floats.Sum(t => t.numel()), pinned: true);
        TensorPacking.Pack(floats, floatData);
        await communicator.BroadcastAsync<float>(floatData, root, cancellationToken).ConfigureAwait(false);
        TensorPacking.Unpack(floatData, floats);
        if (longs.Count == 0) return;
        var longData = new long[longs.Sum(t => t.numel())];
        long offset = 0;
        foreach (var t in longs)
        {
            using var flat = t.reshape(-1).contiguous();
            flat.data<long>().ToArray().CopyTo(longData, offset);
            offset += t.numel();
        }
        await communicator.BroadcastAsync<long>(longData, root, cancellationToken).ConfigureAwait(false);
        offset = 0;
        using var _ = no_grad();
        foreach (var t in longs)
        {
            using var src = tensor(longData.AsSpan((int)offset, (int)t.numel()).ToArray()).view(t.shape);
            t.copy_(src);
            offset += t.numel();
        }
    }

    internal static List<string> Describe(nn.Module module) =>
        module.named_parameters().Select(p => $"parameter '{p.name}' {p.parameter.dtype} [{string.Join(", ", p.parameter.shape)}]")
            .Concat(module.named_buffers().Select(b => $"buffer '{b.name}' {b.buffer.dtype} [{string.Join(", ", b.buffer.shape)}]"))
            .ToList();

    private static long Hash(string text) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(text)), 0);
}
