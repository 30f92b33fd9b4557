namespace Cluster.Agent.Grains;

/// <summary>Training-level facts about a job reported by rank 0 (key: job id); persisted in the job storage.</summary>
public interface IJobReportGrain : IGrainWithStringKey
{
    /// <summary>Planned optimizer steps and epochs.</summary>
    Task ReportPlan(long totalSteps, int epochs);

    /// <summary>An epoch finished.</summary>
    Task ReportEpoch(EpochSummary epoch);

    /// <summary>Training finished on rank 0.</summary>
    Task ReportResult(JobResult result);

    /// <summary>Everything reported so far.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<JobReport> Get();
}
