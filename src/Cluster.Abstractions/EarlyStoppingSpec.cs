namespace Cluster.Abstractions;

/// <summary>Stop when <see cref="Metric"/> has not improved by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs.</summary>
public sealed class EarlyStoppingSpec
{
    public static readonly IReadOnlyList<string> Metrics = ["test_loss", "test_accuracy"];

    public string Metric { get; set; } = "test_loss";
    public int Patience { get; set; } = 3;
    public double MinDelta { get; set; }

    internal void Validate(string path, List<JobSpecError> errors)
    {
        SpecChecks.OneOf($"{path}.metric", Metric, Metrics, errors);
        if (Patience < 1) errors.Add(new($"{path}.patience", $"must be >= 1 (got {Patience})"));
        SpecChecks.NonNegative($"{path}.minDelta", MinDelta, errors);
    }
}
