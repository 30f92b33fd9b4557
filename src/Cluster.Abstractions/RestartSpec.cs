namespace Cluster.Abstractions;

/// <summary>
/// Restart budget: the job goes on after at most <see cref="MaxRestarts"/> losses of ranks within the last
/// <see cref="WindowMinutes"/> (elastic recovery) and fails at the next. A node agent restarts a failed rank of its own (at most
/// <see cref="MaxRestarts"/> times per job on that node), <see cref="BackoffSeconds"/> after the exit, and the coordinator
/// admits the new process at a step boundary. When fewer than <c>workers.minRanks</c> ranks survive a loss, the survivors
/// keep their state and wait up to <see cref="WaitSeconds"/> for replacements (after Horovod elastic's timeout); then the
/// job fails with the list of failures.
/// </summary>
public sealed class RestartSpec
{
    public int MaxRestarts { get; set; } = 3;
    public double WindowMinutes { get; set; } = 60;
    public double BackoffSeconds { get; set; } = 2;
    /// <summary>
    /// How long survivors below <c>workers.minRanks</c> wait for replacements before the job fails. At most
    /// <see cref="MaxWaitSeconds"/>: node agents and ranks wait 300 s for their next generation.
    /// </summary>
    public double WaitSeconds { get; set; } = 60;

    /// <summary>
    /// Losses of ranks on one node within <see cref="WindowMinutes"/> that put the node on probation (no replacement of it
    /// is admitted for <see cref="ProbationMinutes"/> after its last loss; Horovod's host blacklist); 0: never.
    /// </summary>
    public int ProbationFailures { get; set; } = 5;
    public double ProbationMinutes { get; set; } = 10;

    /// <summary>Longest <see cref="WaitSeconds"/> (below the 300 s an agent and a rank wait for their next generation).</summary>
    public const double MaxWaitSeconds = 240;

    internal void Validate(string path, List<JobSpecError> errors)
    {
        if (MaxRestarts < 0) errors.Add(new($"{path}.maxRestarts", $"must be >= 0 (got {MaxRestarts})"));
        if (!(WindowMinutes > 0)) errors.Add(new($"{path}.windowMinutes", $"must be > 0 (got {WindowMinutes})"));
        if (ProbationFailures < 0) errors.Add(new($"{path}.probationFailures", $"must be >= 0 (got {ProbationFailures})"));
        if (!(ProbationMinutes > 0)) errors.Add(new($"{path}.probationMinutes", $"must be > 0 (got {ProbationMinutes})"));
        if (!(WaitSeconds > 0 && WaitSeconds <= MaxWaitSeconds)) errors.Add(new($"{path}.waitSeconds", $"must be > 0 and <= {MaxWaitSeconds} (got {WaitSeconds})"));
        if (!(BackoffSeconds >= 0)) errors.Add(new($"{path}.backoffSeconds", $"must be >= 0 (got {BackoffSeconds})"));
    }
}
