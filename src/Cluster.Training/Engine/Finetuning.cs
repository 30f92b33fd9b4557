using System.Text.RegularExpressions;
using Cluster.Abstractions;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>Transfer learning: load pretrained weights, freeze parameters by name pattern, unfreeze later.</summary>
public static class Finetuning
{
    /// <summary>Loads weights saved with <c>Module.save</c> (a file) or the model of a trainer checkpoint (a directory).
    /// With <paramref name="replaceHead"/> the parameters of the classifier head ("head.*") are not loaded and keep
    /// their fresh initialisation (the class count may differ). Returns the names of the loaded entries.</summary>
    public static IReadOnlyList<string> LoadPretrained(nn.Module model, string from, bool replaceHead)
    {
        ArgumentNullException.ThrowIfNull(model);
        var path = Directory.Exists(from) ? TrainerCheckpoint.ModelFileOfLatest(from)
            ?? throw new FileNotFoundException($"no checkpoint found in {from}") : from;
        if (!File.Exists(path)) throw new FileNotFoundException($"pretrained weights not found: {path}", path);
        var skip = replaceHead ? model.state_dict().Keys.Where(IsHead).ToList() : [];
        var loaded = new Dictionary<string, bool>();
        model.load(path, strict: false, skip: skip, loadedParameters: loaded);
        var missing = model.state_dict().Keys.Where(k => !skip.Contains(k) && !(loaded.TryGetValue(k, out var ok) && ok)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path} lacks {missing.Count} entries of the model, first '{missing[0]}' (is it the same architecture?)");
        return loaded.Where(kv => kv.Value).Select(kv => kv.Key).ToList();
    }

    /// <summary>Sets requires_grad = false on parameters whose name matches any pattern; returns how many were frozen.</summary>
    public static int Freeze(nn.Module model, IEnumerable<string> patterns)
    {
        var regexes = patterns.Select(p => new Regex(p, RegexOptions.CultureInvariant)).ToList();
        var frozen = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            if (!regexes.Any(r => r.IsMatch(name))) continue;
            p.requires_grad = false;
            frozen++;
        }
        return frozen;
    }

    public static void UnfreezeAll(nn.Module model)
    {
        foreach (var p in model.parameters()) p.requires_grad = true;
    }

    private static bool IsHead(string name) => name.StartsWith("head.", StringComparison.Ordinal);
}
