using System.Globalization;
using System.Text.RegularExpressions;
using Cluster.Agent.Grains;

namespace Cluster.Agent.Rank;

/// <summary>Reads the trainer's per-epoch log line ("epoch 2/8: step 938, train_loss 0.41, test_loss 0.35, test_accuracy 0.87, ...").</summary>
internal static partial class EpochLine
{
    [GeneratedRegex(@"^epoch (\d+)/(\d+): step (\d+), train_loss (\S+), test_loss (\S+), test_accuracy (\S+),")]
    private static partial Regex Pattern();

    public static EpochSummary? TryParse(string line)
    {
        var m = Pattern().Match(line);
        if (!m.Success) return null;
        static double D(Group g) => double.TryParse(g.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        return new EpochSummary(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), D(m.Groups[4]), D(m.Groups[5]), D(m.Groups[6]));
    }
}
