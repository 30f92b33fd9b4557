namespace Cluster.Agent.Grains;

/// <summary>What rank 0 told about a job's training: planned steps, the last epoch, the final result.</summary>
[GenerateSerializer, Immutable]
public sealed record JobReport(long TotalSteps, int Epochs, EpochSummary? LastEpoch, JobResult? Result)
{
    /// <summary>Nothing reported yet.</summary>
    public static JobReport Empty => new(0, 0, null, null);
}
