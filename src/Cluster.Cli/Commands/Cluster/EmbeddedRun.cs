using System.Diagnostics;
using System.Text.RegularExpressions;
using Cluster.Abstractions;
using Cluster.Agent.Client;
using Cluster.Agent.Grains;
using Cluster.Agent.Node;
using Cluster.Cli.Commands.Run;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cluster.Cli.Commands.Cluster;

/// <summary>
/// `cluster run` on one box through the coordinator: an in-process silo (localhost clustering, memory storage), an
/// in-process node agent, and N rank processes it starts, which join the rendezvous through the grains. Shows
/// progress while the job runs and returns the run summary; stopping the host kills every rank.
/// </summary>
internal sealed partial class EmbeddedRun(TextWriter human, bool interactive)
{
    private const string NodeId = "local";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    public async Task<(RunSummary Summary, int ExitCode)> RunAsync(JobSpec spec, int workers, string logsDirectory, TimeSpan limit, bool fresh,
        IReadOnlyList<string> rankCommand, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var jobId = JobSubmission.NewJobId(spec);
        var summary = JobSubmission.Summarize(spec, jobId, 1, 1, workers, fresh);
        var ports = FreePorts.Pick(2);
        var clusterId = "cluster-run-" + jobId;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo
            .UseEmbeddedCoordinator(new EmbeddedCoordinatorOptions { SiloPort = ports[0], GatewayPort = ports[1], ClusterId = clusterId })
            .AddNodeAgent(new NodeAgentOptions
            {
                NodeId = NodeId, AdvertiseHost = "127.0.0.1", HostId = Environment.MachineName, NprocPerNode = workers,
                LogsDirectory = logsDirectory, Gateway = $"127.0.0.1:{ports[1]}", ClusterId = clusterId, ServiceId = "cluster",
                WorkerCommand = rankCommand, PollInterval = TimeSpan.FromMilliseconds(200),
            }));
        using var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var job = grains.GetGrain<IJobGrain>(jobId);
            SubmitResult submitted;
            try { submitted = await job.Submit(summary).WaitAsync(cancellationToken).ConfigureAwait(false); }
            catch (InvalidOperationException e) { throw new UsageException(e.Message); } // the spec does not match its checkpoints
            if (submitted.RestoreNote is { } note) await human.WriteLineAsync($"run: {note}").ConfigureAwait(false);
            if (submitted.AlreadyComplete)
                return (new RunSummary { Status = RunSummary.AlreadyComplete, Workers = workers, WallSeconds = stopwatch.Elapsed.TotalSeconds }, ExitCodes.Success);
            await grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key).Add(summary).WaitAsync(cancellationToken).ConfigureAwait(false);
            await human.WriteLineAsync($"run: job {jobId}, {workers} rank(s) through an embedded coordinator (gateway 127.0.0.1:{ports[1]}), logs in {RankLogs.JobDirectory(logsDirectory, jobId)}").ConfigureAwait(false);
            var report = grains.GetGrain<IJobReportGrain>(jobId);
            using var tail = interactive ? null : new RankLogTail(logsDirectory, jobId, NodeId, workers, human);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limit);
            JobStatus status;
            try
            {
                status = interactive
                    ? await new SpectreRunView().WatchAsync(job, report, Poll, deadline.Token).ConfigureAwait(false)
                    : await WatchPlainAsync(job, report, tail!, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                var why = cancellationToken.IsCancellationRequested ? "interrupted" : $"timed out after {limit.TotalSeconds:0.#} s";
                var live = host.Services.GetRequiredService<NodeAgent>().LiveRanks;
                await job.Cancel(why).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                var message = $"job {jobId} did not finish within {limit.TotalSeconds:0.#} s; {live} rank(s) still running were killed";
                await human.WriteLineAsync($"run: {message}").ConfigureAwait(false);
                return (new RunSummary { Status = "timed_out", Workers = workers, Error = message, WallSeconds = stopwatch.Elapsed.TotalSeconds }, ExitCodes.Failure);
            }
            var final = await report.Get().ConfigureAwait(false);
            var recoveries = RunRecovery.Of(status);
            foreach (var recovery in recoveries ?? []) await human.WriteLineAsync($"run: {recovery.Describe()}").ConfigureAwait(false);
            if (status.State == JobState.Completed && final.Result is { } r)
            {
                var s = new RunSummary
                {
                    Status = r.Status, Workers = workers, Epochs = r.Epochs, Steps = r.Steps, SkippedSteps = r.SkippedSteps, TrainLoss = r.TrainLoss,
                    TestAccuracy = r.TestAccuracy, TestLoss = r.TestLoss, TestMacroF1 = r.TestMacroF1, SamplesPerSec = r.SamplesPerSecond,
                    WallSeconds = stopwatch.Elapsed.TotalSeconds, Generation = status.Generation, Recoveries = recoveries,
                };
                return (s, ExitCodes.Success);
            }
            var reason = status.FailureReason ?? $"job ended {status.State} without a result from rank 0";
            int? failed = RankIn().Match(reason) is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
            await human.WriteLineAsync($"run: job {jobId} {status.State.ToString().ToLowerInvariant()}: {reason}").ConfigureAwait(false);
            if (failed is { } k && File.Exists(RankLogs.RankLog(logsDirectory, jobId, k)))
            {
                var lines = await File.ReadAllLinesAsync(RankLogs.RankLog(logsDirectory, jobId, k), CancellationToken.None).ConfigureAwait(false);
                foreach (var line in lines.TakeLast(10)) await human.WriteLineAsync($"[rank {k}] {line}").ConfigureAwait(false);
            }
            return (new RunSummary
            {
                Status = "failed", Workers = workers, FailedRank = failed, Error = reason, WallSeconds = stopwatch.Elapsed.TotalSeconds,
                Generation = status.Generation, Recoveries = recoveries,
            }, ExitCodes.Failure);
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await host.StopAsync(stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { /* ranks were killed by the agent's stop; the silo gave up waiting */ }
        }
    }

    private async Task<JobStatus> WatchPlainAsync(IJobGrain job, IJobReportGrain report, RankLogTail tail, CancellationToken cancellationToken)
    {
        var view = new RunProgress(human, TimeProvider.System);
        while (true)
        {
            tail.Pump();
            var status = await job.GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false);
            view.Update(status, await report.Get().WaitAsync(cancellationToken).ConfigureAwait(false));
            if (status.State.IsTerminal()) return status;
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    [GeneratedRegex(@"\brank (\d+)\b")]
    private static partial Regex RankIn();
}
