using System.Globalization;
using Cluster.Collectives;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Tuning knobs for benchmark sweeps, read from the environment (inherited by every rank):
/// CLUSTER_BENCH_SEGMENT_BYTES, CLUSTER_BENCH_SOCKET_BUFFER_BYTES, CLUSTER_BENCH_SHM_RING_BYTES,
/// CLUSTER_BENCH_SMALL_MESSAGE_BYTES, CLUSTER_BENCH_SPIN_US. Unset: the library's defaults.</summary>
internal static class BenchTuning
{
    public static CommunicatorOptions Apply(CommunicatorOptions o)
    {
        if (Read("CLUSTER_BENCH_SEGMENT_BYTES") is { } segment) o = o with { SegmentBytes = segment };
        if (Read("CLUSTER_BENCH_SOCKET_BUFFER_BYTES") is { } socket) o = o with { SocketBufferBytes = socket };
        if (Read("CLUSTER_BENCH_SHM_RING_BYTES") is { } ring) o = o with { ShmRingBytes = ring };
        if (Read("CLUSTER_BENCH_SMALL_MESSAGE_BYTES") is { } small) o = o with { SmallMessageBytes = small };
        if (Read("CLUSTER_BENCH_SPIN_US") is { } spin) o = o with { SpinBeforeBlock = TimeSpan.FromMicroseconds(spin) };
        return o;
    }

    private static int? Read(string name)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(text)) return null;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 0
            ? value
            : throw new UsageException($"{name}='{text}' is not a non-negative integer");
    }
}
