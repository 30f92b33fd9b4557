using System.Diagnostics;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Single-thread memcpy bandwidth of this machine: the limit a memory-bound collective chases.
/// Reported as bytes copied per second (64 MiB buffers, best of 7).</summary>
internal static class MemcpyProbe
{
    public static double MeasureGbps(int bytes = 64 << 20, int repeats = 7)
    {
        var src = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        var dst = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
        new Random(1).NextBytes(src);
        src.AsSpan().CopyTo(dst); // touch every page first
        var best = double.MaxValue;
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            src.AsSpan().CopyTo(dst);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return bytes / best / 1e9;
    }
}
