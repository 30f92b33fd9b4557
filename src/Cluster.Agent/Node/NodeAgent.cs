using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Cluster.Agent.Grains;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Node;

/// <summary>
/// The node agent: polls the job directory, starts <c>nprocPerNode</c> rank processes for every job that is
/// waiting for workers, writes each rank's output to a log file, reports every rank exit to the job grain at once
/// and kills its ranks' process trees when the job fails or is cancelled, or when the agent stops.
/// </summary>
public sealed partial class NodeAgent(NodeAgentOptions options, IGrainFactory grains, ILogger<NodeAgent> logger) : BackgroundService
{
    private readonly NodeAgentOptions _options = options.Validated();
    private readonly ConcurrentDictionary<string, AgentJob> _jobs = new();
    private readonly HashSet<string> _ignored = [];

    /// <summary>Ranks currently alive on this node (for tests and status).</summary>
    public int LiveRanks => _jobs.Values.Sum(j => j.Ranks.Count(r => !r.Exited.IsCompleted));

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarted(_options.NodeId, _options.NprocPerNode, _options.LogsDirectory);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try { await TickAsync(stoppingToken).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    LogTickFailed(e.Message);
                }
                await Task.Delay(_options.PollInterval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var job in _jobs.Values)
            foreach (var rank in job.Ranks) rank.Kill();
        var exits = _jobs.Values.SelectMany(j => j.Ranks).Select(r => r.Exited).ToArray();
        try { await Task.WhenAll(exits).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { LogStopTimeout(exits.Count(t => !t.IsCompleted)); }
        foreach (var rank in _jobs.Values.SelectMany(j => j.Ranks)) rank.Dispose();
    }

    private async Task TickAsync(CancellationToken cancellationToken)
    {
        var directory = grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key);
        foreach (var spec in await directory.List().WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_jobs.ContainsKey(spec.JobId) || _ignored.Contains(spec.JobId)) continue;
            var job = grains.GetGrain<IJobGrain>(spec.JobId);
            var status = await job.GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false);
            if (status.State is not (JobState.Pending or JobState.Rendezvous))
            {
                _ignored.Add(spec.JobId);
                continue;
            }
            if (spec.NprocPerNode > _options.NprocPerNode)
            {
                LogTooWide(spec.JobId, spec.NprocPerNode, _options.NprocPerNode);
                _ignored.Add(spec.JobId);
                continue;
            }
            // Submit is idempotent for the identical spec and hands back the job secret.
            var secret = (await job.Submit(spec).WaitAsync(cancellationToken).ConfigureAwait(false)).JobSecretBase64;
            Launch(spec, secret);
        }
        foreach (var agentJob in _jobs.Values.Where(j => !j.Ended || !j.AllExited))
        {
            var status = await grains.GetGrain<IJobGrain>(agentJob.JobId).GetStatus().WaitAsync(cancellationToken).ConfigureAwait(false);
            LinkRankLogs(agentJob, status);
            if (status.State.IsTerminal() && !agentJob.Ended)
            {
                agentJob.Ended = true;
                if (status.State != JobState.Completed)
                {
                    LogKilling(agentJob.JobId, status.State, status.FailureReason ?? "");
                    foreach (var rank in agentJob.Ranks) rank.Kill();
                }
            }
        }
    }

    private void Launch(JobSpecSummary spec, string secret)
    {
        var agentJob = new AgentJob(spec.JobId);
        if (!_jobs.TryAdd(spec.JobId, agentJob)) return;
        var threads = Math.Max(1, Environment.ProcessorCount / spec.NprocPerNode);
        for (var local = 0; local < spec.NprocPerNode; local++)
        {
            var info = new ProcessStartInfo(_options.WorkerCommand[0]);
            foreach (var argument in _options.WorkerCommand.Skip(1)) info.ArgumentList.Add(argument);
            var env = info.Environment;
            env[WorkerEnvironment.JobId] = spec.JobId;
            env[WorkerEnvironment.JobSecret] = secret;
            env[WorkerEnvironment.NodeId] = _options.NodeId;
            env[WorkerEnvironment.LocalRank] = local.ToString(CultureInfo.InvariantCulture);
            env[WorkerEnvironment.Coordinator] = _options.Gateway;
            env[AgentEnvironment.AdvertiseHost] = _options.AdvertiseHost;
            env[AgentEnvironment.HostId] = _options.HostId;
            env[AgentEnvironment.ClusterId] = _options.ClusterId;
            env[AgentEnvironment.ServiceId] = _options.ServiceId;
            env[AgentEnvironment.Threads] = threads.ToString(CultureInfo.InvariantCulture);
            global::Cluster.Training.Engine.RankMallocSettings.ApplyTo(env);
            foreach (var (key, value) in _options.ExtraEnvironment) env[key] = value;
            var memberId = MemberIds.Of(_options.NodeId, local);
            var logPath = RankLogs.MemberLog(_options.LogsDirectory, spec.JobId, _options.NodeId, local);
            var rank = RankProcess.Start(info, spec.JobId, memberId, local, logPath);
            agentJob.Ranks.Add(rank);
            LogLaunched(spec.JobId, memberId, rank.Pid, logPath);
            _ = WatchAsync(agentJob, rank);
        }
    }

    /// <summary>Reports the exit of <paramref name="rank"/> to the job grain as soon as it happens.</summary>
    private async Task WatchAsync(AgentJob agentJob, RankProcess rank)
    {
        var code = await rank.Exited.ConfigureAwait(false);
        LogExited(agentJob.JobId, rank.MemberId, code);
        try
        {
            var job = grains.GetGrain<IJobGrain>(agentJob.JobId);
            var status = await job.GetStatus().ConfigureAwait(false);
            if (status.Ranks.FirstOrDefault(r => r.MemberId == rank.MemberId) is not { } info) return; // never admitted
            var detail = code == 0 ? null : $"{rank.MemberId} (pid {rank.Pid}) on node {_options.NodeId}{Signal(code)}; last output: {rank.Tail}";
            var reply = await job.ReportExit(new ProcessExitReport(rank.MemberId, status.Generation,
                RendezvousDecider.FencingToken(status.Generation, info.Rank), code, detail)).ConfigureAwait(false);
            if (reply.Directive == ControlDirective.Abort && !agentJob.Ended)
            {
                agentJob.Ended = true;
                foreach (var other in agentJob.Ranks) other.Kill();
            }
        }
        catch (Exception e)
        {
            LogReportFailed(agentJob.JobId, rank.MemberId, e.Message);
        }
    }

    private static string Signal(int code) => code > 128 && code < 160 ? $" killed by signal {code - 128}" : "";

    private void LinkRankLogs(AgentJob agentJob, JobStatus status)
    {
        foreach (var info in status.Ranks.Where(r => r.NodeId == _options.NodeId))
        {
            if (agentJob.Linked.TryGetValue(info.MemberId, out var linked) && linked == info.Rank) continue;
            agentJob.Linked[info.MemberId] = info.Rank;
            var local = agentJob.Ranks.FirstOrDefault(r => r.MemberId == info.MemberId);
            if (local is null) continue;
            RankLogs.Link(_options.LogsDirectory, agentJob.JobId, info.Rank, local.LogPath);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "agent {NodeId} started: up to {Nproc} ranks per job, logs in {Logs}")]
    private partial void LogStarted(string nodeId, int nproc, string logs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "agent tick failed: {Reason}")]
    private partial void LogTickFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} needs {Needed} ranks per node but this agent runs at most {Nproc}; skipped")]
    private partial void LogTooWide(string jobId, int needed, int nproc);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: started {MemberId} (pid {Pid}), log {Log}")]
    private partial void LogLaunched(string jobId, string memberId, int pid, string log);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: {MemberId} exited with code {Code}")]
    private partial void LogExited(string jobId, string memberId, int code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: exit of {MemberId} not reported: {Reason}")]
    private partial void LogReportFailed(string jobId, string memberId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} is {State} ({Reason}): killing this node's ranks")]
    private partial void LogKilling(string jobId, JobState state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} rank process(es) still alive 10 s after the kill")]
    private partial void LogStopTimeout(int count);
}
