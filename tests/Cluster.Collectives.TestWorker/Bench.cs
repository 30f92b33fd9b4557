using System.Diagnostics;
using System.Globalization;
using Cluster.Collectives;

namespace Cluster.Collectives.TestWorker;

/// <summary>Throwaway all-reduce measurement (float32 sum); rank 0 prints size, time per op and bus bandwidth.</summary>
public static class Bench
{
    public static async Task RunAsync(ICommunicator comm, string sizes, CancellationToken ct)
    {
        foreach (var bytes in sizes.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
        {
            var data = new float[bytes / 4];
            var iterations = Math.Clamp(256 * 1024 * 1024 / Math.Max(bytes, 1), 5, 2000);
            for (var i = 0; i < Math.Min(iterations, 20); i++) await comm.AllReduceAsync<float>(data, ReduceOp.Sum, ct);
            await comm.BarrierAsync(ct);
            var times = new List<double>();
            for (var rep = 0; rep < 5; rep++)
            {
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < iterations / 5 + 1; i++) await comm.AllReduceAsync<float>(data, ReduceOp.Sum, ct);
                times.Add(sw.Elapsed.TotalSeconds / (iterations / 5 + 1));
            }
            var best = times.Min();
            var median = times.Order().ElementAt(times.Count / 2);
            var n = comm.WorldSize;
            var busbw = bytes * 2.0 * (n - 1) / n / best / 1e9;
            if (comm.Rank == 0)
                Console.Out.WriteLine($"BENCH bytes={bytes} best_ms={best * 1e3:0.0000} median_ms={median * 1e3:0.0000} busbw_GBps={busbw:0.000}");
        }
    }
}
