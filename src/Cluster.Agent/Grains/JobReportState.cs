namespace Cluster.Agent.Grains;

/// <summary>Persisted state of a job's report (<see cref="JobReportGrain"/>).</summary>
[GenerateSerializer]
public sealed class JobReportState
{
    [Id(0)]
    public JobReport Report { get; set; } = JobReport.Empty;
}
