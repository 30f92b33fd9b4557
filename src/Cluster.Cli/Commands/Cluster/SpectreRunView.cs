using System.Globalization;
using Cluster.Agent.Grains;
using Cluster.Coordinator.Contracts;
using Spectre.Console;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>Live terminal progress of a coordinated run (Spectre.Console): bar over all steps, epoch, loss, samples/s, ETA.</summary>
internal sealed class SpectreRunView
{
    public async Task<JobStatus> WatchAsync(IJobGrain job, IJobReportGrain report, TimeSpan poll, CancellationToken cancellationToken)
    {
        JobStatus? last = null;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("waiting for ranks", maxValue: 1);
                var lastEpoch = 0;
                while (true)
                {
                    var status = await job.GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false);
                    var r = await report.Get().WaitAsync(cancellationToken).ConfigureAwait(false);
                    last = status;
                    if (r.TotalSteps > 0) task.MaxValue = r.TotalSteps;
                    task.Value = Math.Min(task.MaxValue, status.Step);
                    var epochs = Math.Max(1, r.Epochs);
                    var epoch = r.TotalSteps > 0 ? Math.Min(epochs, (int)(status.Step * epochs / r.TotalSteps) + 1) : 0;
                    var loss = status.Loss is { } l && double.IsFinite(l) ? l.ToString("F4", CultureInfo.InvariantCulture) : "-";
                    var rate = status.SamplesPerSecond is { } s ? s.ToString("F0", CultureInfo.InvariantCulture) : "-";
                    task.Description = status.State is JobState.Pending or JobState.Rendezvous
                        ? $"{status.State.ToString().ToLowerInvariant()}: {status.WaitingMembers} rank(s) joined"
                        : $"epoch {epoch}/{epochs}  loss {loss}  {rate} samples/s{(status.Spares > 0 ? $"  {status.Ranks.Count} ranks + {status.Spares} spare(s)" : "")}";
                    if (r.LastEpoch is { } e && e.Epoch != lastEpoch)
                    {
                        lastEpoch = e.Epoch;
                        AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                            $"epoch {e.Epoch}/{e.Epochs}: train loss {e.TrainLoss:F4}, test loss {e.TestLoss:F4}, test accuracy {e.TestAccuracy:F4}")));
                    }
                    if (status.State.IsTerminal())
                    {
                        if (status.State == JobState.Completed) task.Value = task.MaxValue;
                        task.StopTask();
                        return;
                    }
                    await Task.Delay(poll, cancellationToken).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        return last!;
    }
}
