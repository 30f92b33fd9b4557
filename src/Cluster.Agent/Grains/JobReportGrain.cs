namespace Cluster.Agent.Grains;

/// <summary>In-memory holder of <see cref="JobReport"/> (lost on deactivation; the coordinator's job grain holds the durable state).</summary>
internal sealed class JobReportGrain : Grain, IJobReportGrain
{
    private JobReport _report = JobReport.Empty;

    public Task ReportPlan(long totalSteps, int epochs)
    {
        _report = _report with { TotalSteps = totalSteps, Epochs = epochs };
        return Task.CompletedTask;
    }

    public Task ReportEpoch(EpochSummary epoch)
    {
        _report = _report with { LastEpoch = epoch };
        return Task.CompletedTask;
    }

    public Task ReportResult(JobResult result)
    {
        _report = _report with { Result = result };
        return Task.CompletedTask;
    }

    public Task<JobReport> Get() => Task.FromResult(_report);
}
