using System.Text.RegularExpressions;

namespace Cluster.Training.Checkpoints;

internal static partial class CheckpointNames
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex PartName();

    /// <summary>A part is one plain file of a checkpoint directory; the manifest's name is reserved.</summary>
    public static string ValidatePart(string name)
    {
        if (name is null || !PartName().IsMatch(name) || name.EndsWith(".tmp", StringComparison.Ordinal))
            throw new ArgumentException($"Invalid checkpoint part name '{name}': use letters, digits, '.', '-', '_' (max 100), not ending in .tmp.", nameof(name));
        if (name == Cluster.Coordinator.Contracts.Checkpoints.CheckpointFiles.ManifestFileName)
            throw new ArgumentException($"'{name}' is reserved for the checkpoint itself.", nameof(name));
        return name;
    }
}
