using System.Diagnostics;
using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Cluster.Agent.Node;

/// <summary>
/// One local rank's life on this node: every exit is reported to the job grain at once, and a rank that failed while the
/// job goes on on this node is started again by a Polly retry pipeline (one per local rank and job): while the node's
/// restart budget lasts, after <see cref="RestartBackoff"/>'s delay (the new process is admitted at a step boundary, with
/// its state from a survivor).
/// </summary>
public sealed partial class NodeAgent
{
    /// <summary>One run of a rank process: its exit code, the coordinator's answer to the exit report, how long it ran; <paramref name="Final"/>: not to be restarted whatever the code.</summary>
    private sealed record RankRun(RankProcess Process, int Code, ControlReply? Reply, TimeSpan RanFor, bool Final = false);

    private async Task SuperviseAsync(AgentJob agentJob, RankProcess first, Func<RankProcess> start)
    {
        var current = first;
        var pending = false; // a restart taken from the budget whose process has not started yet
        var pipeline = new ResiliencePipelineBuilder<RankRun>().AddRetry(new RetryStrategyOptions<RankRun>
        {
            MaxRetryAttempts = int.MaxValue, // the node's restart budget ends the loop (ShouldHandle)
            ShouldHandle = args => ValueTask.FromResult(pending = args.Outcome.Result is { } run && TakeRestart(agentJob, run)),
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(agentJob.NextDelay(current.LocalRank, args.Outcome.Result!.RanFor)),
            OnRetry = args =>
            {
                LogRestarting(agentJob.JobId, current.MemberId, agentJob.Restarts, agentJob.RestartBudget, args.RetryDelay.TotalSeconds);
                return default;
            },
        }).Build();
        var attempt = 0;
        try
        {
            await pipeline.ExecuteAsync(async _ =>
            {
                if (attempt++ > 0)
                {
                    try
                    {
                        if (!GoesOn(agentJob)) return new RankRun(current, 0, null, TimeSpan.Zero, Final: true);
                        current = start();
                    }
                    catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
                    {
                        LogReportFailed(agentJob.JobId, current.MemberId, $"restart failed: {e.Message}");
                        return new RankRun(current, 0, null, TimeSpan.Zero, Final: true);
                    }
                    finally
                    {
                        pending = false;
                        agentJob.EndRestart();
                    }
                }
                return await ObserveAsync(agentJob, current).ConfigureAwait(false);
            }, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // the agent stops: no restart
        }
        finally
        {
            if (pending) agentJob.EndRestart();
        }
    }

    /// <summary>Waits for <paramref name="rank"/> to exit and reports the exit; an Abort in the answer stops the node's ranks.</summary>
    private async Task<RankRun> ObserveAsync(AgentJob agentJob, RankProcess rank)
    {
        var code = await rank.Exited.ConfigureAwait(false);
        var ranFor = Stopwatch.GetElapsedTime(rank.StartedAt);
        LogExited(agentJob.JobId, rank.MemberId, code);
        ControlReply? reply = null;
        try
        {
            var detail = code == 0 ? null : $"{rank.MemberId} (pid {rank.Pid}) on node {_options.NodeId}{Signal(code)}; last output: {rank.Tail}";
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            reply = await agentJob.Voice.ReportExitAsync(rank.LocalRank, code, detail, deadline.Token).ConfigureAwait(false);
            if (reply?.Directive == ControlDirective.Abort && !agentJob.Ended)
            {
                agentJob.Ended = true;
                await StopRanksAsync(agentJob, reply.Reason ?? "aborted").ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            LogReportFailed(agentJob.JobId, rank.MemberId, e.Message);
        }
        return new RankRun(rank, code, reply, ranFor);
    }

    /// <summary>
    /// Whether <paramref name="run"/>'s rank is started again, taking one restart from the node's budget. Not restarted: a
    /// rank that finished, was refused or given a spec it cannot run (it would fail again), or whose job ended.
    /// </summary>
    private bool TakeRestart(AgentJob agentJob, RankRun run)
    {
        if (run.Final || run.Code is RankExitCodes.Success or RankExitCodes.Refused or RankExitCodes.InvalidInput
            || run.Reply?.Directive is ControlDirective.Abort or ControlDirective.Fenced || !GoesOn(agentJob) || _stopping.IsCancellationRequested) return false;
        if (agentJob.TryTakeRestart()) return true;
        LogBudgetSpent(agentJob.JobId, run.Process.MemberId, agentJob.RestartBudget);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: {MemberId} exited with code {Code}")]
    private partial void LogExited(string jobId, string memberId, int code);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: restarting {MemberId} (restart {Restart} on this node, at most {Budget} in the window) after {Seconds:0.###} s")]
    private partial void LogRestarting(string jobId, string memberId, int restart, int budget, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: {MemberId} is not restarted: this node's restart budget of {Budget} is spent")]
    private partial void LogBudgetSpent(string jobId, string memberId, int budget);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: exit of {MemberId} not reported: {Reason}")]
    private partial void LogReportFailed(string jobId, string memberId, string reason);
}
