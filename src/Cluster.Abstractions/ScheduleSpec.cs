namespace Cluster.Abstractions;

/// <summary>Learning-rate schedule (plateau: stepped once per epoch on the eval loss), preceded by a linear warm-up over
/// <see cref="WarmupSteps"/> steps. Step counts are reference steps, one global batch at the world size the job started
/// with, so the schedule follows the samples consumed and does not jump when the world size changes.</summary>
public sealed class ScheduleSpec
{
    public static readonly IReadOnlyList<string> Types = ["none", "step", "exponential", "cosine", "onecycle", "plateau"];

    public string Type { get; set; } = "none";
    public int WarmupSteps { get; set; }
    /// <summary>step: decay every this many steps.</summary>
    public int StepSize { get; set; } = 1000;
    /// <summary>step/exponential: multiplicative decay; plateau: reduction factor.</summary>
    public double Gamma { get; set; } = 0.1;
    /// <summary>cosine: floor of the learning rate.</summary>
    public double MinLr { get; set; }
    /// <summary>onecycle: peak learning rate (default: optimizer.lr).</summary>
    public double? MaxLr { get; set; }
    public double PctStart { get; set; } = 0.3;
    /// <summary>plateau: epochs without improvement before reducing.</summary>
    public int Patience { get; set; } = 2;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        SpecChecks.OneOf($"{path}.type", Type, Types, errors);
        if (WarmupSteps < 0) errors.Add(new($"{path}.warmupSteps", $"must be >= 0 (got {WarmupSteps})"));
        if (StepSize < 1) errors.Add(new($"{path}.stepSize", $"must be >= 1 (got {StepSize})"));
        if (!(Gamma > 0 && Gamma <= 1)) errors.Add(new($"{path}.gamma", $"must be in (0, 1] (got {Gamma})"));
        SpecChecks.NonNegative($"{path}.minLr", MinLr, errors);
        if (MaxLr is { } m) SpecChecks.Positive($"{path}.maxLr", m, errors);
        if (!(PctStart > 0 && PctStart < 1)) errors.Add(new($"{path}.pctStart", $"must be in (0, 1) (got {PctStart})"));
        if (Patience < 0) errors.Add(new($"{path}.patience", $"must be >= 0 (got {Patience})"));
    }
}
