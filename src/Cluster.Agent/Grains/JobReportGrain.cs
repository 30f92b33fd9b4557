using Cluster.Coordinator.Grains;

namespace Cluster.Agent.Grains;

/// <summary>
/// Holder of <see cref="JobReport"/>, persisted in the job storage (Redis when clustered), so that `run` and `status` still
/// show the plan, the last epoch and the result after the silo that held it died. The plan and the result are written at
/// once; an epoch at most once per <see cref="EpochWriteInterval"/> (a short epoch every few milliseconds would otherwise
/// write as often), so a failover loses at most that much of the newest epoch line, which the next epoch brings back.
/// </summary>
internal sealed class JobReportGrain(
    [PersistentState("report", JobGrain.StorageName)] IPersistentState<JobReportState> store, TimeProvider time) : Grain, IJobReportGrain
{
    public static readonly TimeSpan EpochWriteInterval = TimeSpan.FromSeconds(1);

    private long _lastWrite;

    private JobReport Report
    {
        get => store.State.Report;
        set => store.State.Report = value;
    }

    public Task ReportPlan(long totalSteps, int epochs)
    {
        if (Report.TotalSteps == totalSteps && Report.Epochs == epochs) return Task.CompletedTask;
        Report = Report with { TotalSteps = totalSteps, Epochs = epochs };
        return WriteAsync();
    }

    public Task ReportEpoch(EpochSummary epoch)
    {
        if (Report.LastEpoch == epoch) return Task.CompletedTask;
        Report = Report with { LastEpoch = epoch };
        return _lastWrite != 0 && time.GetElapsedTime(_lastWrite) < EpochWriteInterval ? Task.CompletedTask : WriteAsync();
    }

    public Task ReportResult(JobResult result)
    {
        if (Report.Result == result) return Task.CompletedTask;
        Report = Report with { Result = result };
        return WriteAsync();
    }

    public Task<JobReport> Get() => Task.FromResult(Report);

    private async Task WriteAsync()
    {
        _lastWrite = time.GetTimestamp();
        await store.WriteStateAsync();
    }
}
