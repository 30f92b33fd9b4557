namespace Cluster.Abstractions;

/// <summary>
/// Restart budget: the job goes on after at most <see cref="MaxRestarts"/> losses of ranks (elastic recovery; counted over
/// the job's whole life) and fails at the next. A node agent restarts a failed rank of its own (at most
/// <see cref="MaxRestarts"/> times per job on that node), <see cref="BackoffSeconds"/> after the exit, and the coordinator
/// admits the new process at a step boundary. <see cref="WindowMinutes"/> is parsed and validated but not used yet.
/// </summary>
public sealed class RestartSpec
{
    public int MaxRestarts { get; set; } = 3;
    public double WindowMinutes { get; set; } = 60;
    public double BackoffSeconds { get; set; } = 2;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (MaxRestarts < 0) errors.Add(new($"{path}.maxRestarts", $"must be >= 0 (got {MaxRestarts})"));
        if (!(WindowMinutes > 0)) errors.Add(new($"{path}.windowMinutes", $"must be > 0 (got {WindowMinutes})"));
        if (!(BackoffSeconds >= 0)) errors.Add(new($"{path}.backoffSeconds", $"must be >= 0 (got {BackoffSeconds})"));
    }
}
