namespace Cluster.Abstractions;

/// <summary>Transfer learning: start from the weights in <see cref="From"/> (a checkpoint directory or a TorchSharp
/// state-dict file), freeze parameters whose names match any regex in <see cref="Freeze"/>, optionally re-initialise the
/// classifier head, and unfreeze everything at epoch <see cref="UnfreezeAtEpoch"/> (1-based; 0: never).</summary>
public sealed class FinetuneSpec
{
    public string From { get; set; } = "";
    public List<string> Freeze { get; set; } = [];
    public bool ReplaceHead { get; set; }
    public int UnfreezeAtEpoch { get; set; }

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (string.IsNullOrWhiteSpace(From)) errors.Add(new($"{path}.from", "is required"));
        for (var i = 0; i < Freeze.Count; i++)
        {
            try { _ = new System.Text.RegularExpressions.Regex(Freeze[i]); }
            catch (ArgumentException ex) { errors.Add(new($"{path}.freeze[{i}]", $"invalid regex: {ex.Message}")); }
        }
        if (UnfreezeAtEpoch < 0) errors.Add(new($"{path}.unfreezeAtEpoch", $"must be >= 0 (got {UnfreezeAtEpoch})"));
    }
}
