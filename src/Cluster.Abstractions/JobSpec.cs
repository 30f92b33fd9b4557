namespace Cluster.Abstractions;

/// <summary>A training job as written in a job YAML file (camelCase keys). Parse with <see cref="JobSpecLoader"/>;
/// unknown keys are rejected. <see cref="Validate"/> returns every semantic error at once.</summary>
public sealed class JobSpec
{
    public string Name { get; set; } = "";
    public WorkersSpec Workers { get; set; } = new();
    public TrainingSpec Training { get; set; } = new();
    public CheckpointSpec Checkpoint { get; set; } = new();
    public RestartSpec Restart { get; set; } = new();

    /// <summary>All semantic errors, each with the dotted path of the offending field.</summary>
    public IReadOnlyList<JobSpecError> Validate()
    {
        var errors = new List<JobSpecError>();
        if (string.IsNullOrWhiteSpace(Name)) errors.Add(new("name", "is required"));
        else if (Name.Length > 100 || Name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            errors.Add(new("name", $"'{Name}' must be 1-100 characters of letters, digits, '-', '_' or '.'"));
        Workers.Validate("workers", errors);
        Training.Validate("training", errors);
        Checkpoint.Validate("checkpoint", errors);
        Restart.Validate("restart", errors);
        return errors;
    }
}
