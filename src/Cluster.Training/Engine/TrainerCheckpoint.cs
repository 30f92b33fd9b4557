using System.Globalization;
using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// Trainer checkpoints: <c>dir/step-N/</c> with model.bin (Module.save), optimizer.bin and trainer.json, written to
/// <c>step-N.tmp</c> and renamed into place (a crash never leaves a half-written <c>step-N</c>); the oldest beyond
/// keep-last are deleted. Only rank 0 writes; every rank reads.
/// </summary>
public static class TrainerCheckpoint
{
    private const string Prefix = "step-";
    public const string ModelFile = "model.bin";
    public const string OptimizerFile = "optimizer.bin";
    public const string ProgressFile = "trainer.json";

    public static string Save(string directory, TrainerProgress progress, nn.Module model, optim.Optimizer optimizer, int keepLast)
    {
        Directory.CreateDirectory(directory);
        var final = Path.Combine(directory, Prefix + progress.Step.ToString(CultureInfo.InvariantCulture));
        var temp = final + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        model.save(Path.Combine(temp, ModelFile));
        ((OptimizerHelper)optimizer).save_state_dict(Path.Combine(temp, OptimizerFile));
        File.WriteAllText(Path.Combine(temp, ProgressFile), JsonSerializer.Serialize(progress));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        foreach (var old in List(directory).SkipLast(keepLast)) Directory.Delete(old.Path, recursive: true);
        return final;
    }

    /// <summary>The newest complete checkpoint, or null.</summary>
    public static string? Latest(string directory) => List(directory).LastOrDefault().Path;

    public static string? ModelFileOfLatest(string directory) => Latest(directory) is { } d ? Path.Combine(d, ModelFile) : null;

    public static TrainerProgress Load(string checkpoint, nn.Module model, optim.Optimizer optimizer)
    {
        var progressPath = Path.Combine(checkpoint, ProgressFile);
        var progress = JsonSerializer.Deserialize<TrainerProgress>(File.ReadAllText(progressPath))
            ?? throw new InvalidDataException($"{progressPath} is empty");
        model.load(Path.Combine(checkpoint, ModelFile));
        ((OptimizerHelper)optimizer).load_state_dict(Path.Combine(checkpoint, OptimizerFile));
        return progress;
    }

    private static List<(long Step, string Path)> List(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        return Directory.GetDirectories(directory)
            .Select(d => (Name: Path.GetFileName(d), Path: d))
            .Where(d => d.Name.StartsWith(Prefix, StringComparison.Ordinal) && !d.Name.EndsWith(".tmp", StringComparison.Ordinal)
                && File.Exists(Path.Combine(d.Path, ProgressFile)))
            .Select(d => (Step: long.TryParse(d.Name[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : -1, d.Path))
            .Where(d => d.Step >= 0)
            .OrderBy(d => d.Step)
            .ToList();
    }
}
