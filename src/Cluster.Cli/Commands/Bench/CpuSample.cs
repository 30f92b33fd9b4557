using System.Globalization;

namespace Cluster.Cli.Commands.Bench;

/// <summary>The machine's CPU time from the first line of <c>/proc/stat</c> (jiffies): all of it, and the idle part.</summary>
internal readonly record struct CpuSample(long Total, long Idle)
{
    public static CpuSample Now()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal ...: idle and iowait count as idle.
        return new CpuSample(fields.Take(8).Sum(), fields[3] + fields[4]);
    }

    /// <summary>The busy fraction of all cores between <paramref name="earlier"/> and this sample.</summary>
    public double BusySince(CpuSample earlier)
    {
        var total = Total - earlier.Total;
        return total <= 0 ? 0 : 1 - (double)(Idle - earlier.Idle) / total;
    }
}
