namespace Cluster.Cli.Commands.Bench;

/// <summary>Median, mean and minimum of benchmark samples, ignoring NaN (a sample not taken); NaN when none is left.</summary>
internal static class BenchStats
{
    public static double Median(double[] values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Mean(double[] values) => values.Any(v => !double.IsNaN(v)) ? values.Where(v => !double.IsNaN(v)).Average() : double.NaN;

    public static double Min(double[] values) => values.Any(v => !double.IsNaN(v)) ? values.Where(v => !double.IsNaN(v)).Min() : double.NaN;
}
