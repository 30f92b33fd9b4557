using System.Globalization;
using System.Text.RegularExpressions;

namespace Cluster.Training.Checkpoints;

internal static partial class CheckpointNames
{
    public const string Manifest = "manifest.json";
    public const string State = "state.json";
    public const string DirectoryPrefix = "step-";
    public const string TempSuffix = ".tmp";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex PartName();

    [GeneratedRegex("^step-([0-9]{1,19})$")]
    private static partial Regex StepDirectory();

    public static string ValidatePart(string name)
    {
        if (name is null || !PartName().IsMatch(name) || name.EndsWith(TempSuffix, StringComparison.Ordinal))
            throw new ArgumentException($"Invalid checkpoint part name '{name}': use letters, digits, '.', '-', '_' (max 100), not ending in {TempSuffix}.", nameof(name));
        if (name is Manifest or State) throw new ArgumentException($"'{name}' is reserved for the checkpoint itself.", nameof(name));
        return name;
    }

    public static string DirectoryName(long step) => DirectoryPrefix + step.ToString(CultureInfo.InvariantCulture);

    public static bool TryParseStep(string directoryName, out long step)
    {
        var m = StepDirectory().Match(directoryName);
        step = 0;
        return m.Success && long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out step);
    }
}
