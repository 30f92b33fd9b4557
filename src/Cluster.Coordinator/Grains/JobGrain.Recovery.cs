using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Logging;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// Lost ranks (<see cref="JobGrain"/>): the recovery decider regroups the survivors into the next generation, restarts the
/// job from its newest committed checkpoint when none is left, or fails it; the first step of the new generation ends
/// the recovery and times it.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>Ranks are gone: the recovery decider fails the job or regroups the survivors into the next generation at once.</summary>
    private async Task OnRanksLostAsync(RanksLost lost)
    {
        if (S.State.IsTerminal()) return;
        // Lost ranks have no lease any more, finished ones never did; waiting spares take lost places.
        var survivors = _leases.Leases.Count + _rv.Spares.Count;
        var now = clock.UtcNow;
        foreach (var rank in lost.Ranks)
            if (_rv.Ranks.FirstOrDefault(s => s.Rank == rank) is { } slot) RecordNodeLoss(slot.Member.NodeId, now);
        var decision = _recovery!.Decide(Budget(), lost, survivors, now);
        S.Failures = [.. decision.State.Failures];
        _dirty = true;
        foreach (var action in decision.Actions)
        {
            if (action is RestartFromCheckpoint restart)
            {
                await RestartFromCheckpointAsync(restart);
                continue;
            }
            if (action is AwaitRanks hold)
            {
                await HoldAsync(hold);
                continue;
            }
            if (action is not Regroup regroup)
            {
                await ApplyAsync([action]);
                continue;
            }
            await AbortOpenCheckpointAsync($"ranks lost: {regroup.Reason}");
            var from = _rv.Generation;
            var step = _progress.Count == 0 ? 0 : _progress.Values.Max(p => p.Step);
            // Ranks that already finished (exit 0) have no place in the next generation either.
            var gone = regroup.Lost.Concat(_leases.Finished).Distinct().ToList();
            var formed = _rendezvous!.Decide(_rv, new RendezvousEvent.Regroup(gone), clock.UtcNow);
            if (formed.Rejection is { } why)
            {
                await FailAsync($"{regroup.Reason}; the survivors could not regroup: {why}");
                return;
            }
            if (!Transition(LifecycleEvent.RecoveryStarted)) return;
            var spares = _rv.Spares.Count - formed.State.Spares.Count;
            var note = spares > 0 ? $"{regroup.Reason}; {spares} spare(s) took the lost place(s)" : regroup.Reason;
            SetRendezvous(formed.State);
            S.Recoveries.Add(new RecoveryRecord(from, formed.State.Generation, note, clock.UtcNow, step, formed.State.Ranks.Count));
            LogRecovery(JobId, from, formed.State.Generation, formed.State.Ranks.Count, regroup.Reason);
            await ApplyAsync(formed.Actions);
        }
    }

    /// <summary>
    /// Too few survived: the open checkpoint is aborted, the generation ends and its survivors wait as members (the job is
    /// Recovering, their nodes hear Regroup); replacements join them and the next generation forms at the quorum.
    /// </summary>
    private async Task HoldAsync(AwaitRanks hold)
    {
        await AbortOpenCheckpointAsync($"ranks lost: {hold.Reason}");
        var from = _rv.Generation;
        var step = _progress.Count == 0 ? 0 : _progress.Values.Max(p => p.Step);
        var gone = hold.Lost.Concat(_leases.Finished).Distinct().ToList();
        var held = _rendezvous!.Decide(_rv, new RendezvousEvent.Hold(gone, hold.Quorum), clock.UtcNow);
        if (held.Rejection is { } why)
        {
            await FailAsync($"{hold.Reason}; the survivors could not wait: {why}");
            return;
        }
        if (!Transition(LifecycleEvent.RecoveryStarted)) return;
        // The survivors' fencing tokens of the ended generation: a waiting survivor's exit report must present its own.
        _heldFences = _rv.Ranks.Where(r => held.State.Members.Any(m => m.MemberId == r.Member.MemberId))
            .ToDictionary(r => r.Member.MemberId, r => RendezvousDecider.FencingToken(_rv.Generation, r.Rank), StringComparer.Ordinal);
        SetRendezvous(held.State);
        _leases = LivenessState.Empty; // no generation runs: a waiting survivor that exits is reported by its agent (OnWaitingExitAsync)
        _progress.Clear();
        S.Recoveries.Add(new RecoveryRecord(from, from + 1, hold.Reason, clock.UtcNow, step, held.State.Members.Count));
        _dirty = true;
        LogHold(JobId, from, held.State.Members.Count, hold.Quorum, hold.Reason);
        Signal();
    }

    /// <summary>
    /// A survivor waiting below the minimum exited: it leaves the waiting members; with none left the job restarts from its
    /// newest committed checkpoint (or fails when the budget is spent).
    /// </summary>
    private async Task OnWaitingExitAsync(ProcessExitReport report)
    {
        var left = _rendezvous!.Decide(_rv, new RendezvousEvent.Leave(report.MemberId), clock.UtcNow);
        if (left.Rejection is not null || ReferenceEquals(left.State, _rv)) return;
        _rv = left.State; // waiting members are soft state
        if (_rv.Members.Count > 0) return;
        var reason = $"{report.MemberId} exited with code {report.ExitCode} while it waited for replacements";
        RecordNodeLoss(MemberIds.NodeOf(report.MemberId), clock.UtcNow);
        var decision = _recovery!.Decide(Budget(), new RanksLost([], reason), survivors: 0, clock.UtcNow);
        S.Failures = [.. decision.State.Failures];
        _dirty = true;
        foreach (var action in decision.Actions)
        {
            if (action is RestartFromCheckpoint restart) await RestartFromCheckpointAsync(restart);
            else await ApplyAsync([action]);
        }
    }

    /// <summary>The restarts spent so far (one per loss: an admission spends nothing) and the failures, for the recovery decider.</summary>
    private RecoveryState Budget() => new([.. S.Recoveries.Where(r => !r.Admission && !r.Planned).Select(r => r.DecidedAt)], [.. S.Failures]);

    /// <summary>Most node losses kept for probation (older ones are past any window that matters).</summary>
    public const int MaxNodeLossesKept = 256;

    private void RecordNodeLoss(string nodeId, DateTimeOffset at)
    {
        S.NodeLosses.Add(new NodeLoss(nodeId, at));
        if (S.NodeLosses.Count > MaxNodeLossesKept) S.NodeLosses.RemoveAt(0);
        _dirty = true;
    }

    /// <summary>Why a replacement of <paramref name="nodeId"/> is not admitted now (probation), or null.</summary>
    private string? ProbationOf(string nodeId)
    {
        var now = clock.UtcNow;
        return _recovery!.ProbationUntil(S.NodeLosses.Where(l => l.NodeId == nodeId).Select(l => l.At), now) is { } until
            ? $"node {nodeId} is on probation until {until:O} ({(until - now).TotalSeconds:0} s): {_recovery.ProbationRule}"
            : null;
    }

    /// <summary>
    /// No rank is left: the open checkpoint is aborted, the rendezvous reopens (the agents start their ranks again and join;
    /// the next generation's assignment restores the newest committed checkpoint), the state goes back to Rendezvous.
    /// </summary>
    private async Task RestartFromCheckpointAsync(RestartFromCheckpoint restart)
    {
        await AbortOpenCheckpointAsync($"every rank lost: {restart.Reason}");
        var from = _rv.Generation;
        var step = _progress.Count == 0 ? 0 : _progress.Values.Max(p => p.Step);
        if (!Transition(LifecycleEvent.RestartStarted)) return;
        var reopened = _rendezvous!.Decide(_rv, new RendezvousEvent.Reopen(), clock.UtcNow);
        if (reopened.Rejection is { } why)
        {
            await FailAsync($"{restart.Reason}; the rendezvous could not reopen: {why}");
            return;
        }
        SetRendezvous(reopened.State);
        _progress.Clear();
        var from_ = S.Checkpoints.Latest is { } latest ? $"checkpoint {latest.CheckpointId} (step {latest.Step})" : "the start (no checkpoint committed)";
        S.Recoveries.Add(new RecoveryRecord(from, from + 1, $"{restart.Reason}: {from_}", clock.UtcNow, step, 0, Restart: true));
        _dirty = true;
        LogRestart(JobId, from, from_, restart.Reason);
        Signal();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} generation {Generation}: {Waiting} survivor(s) wait for {Quorum} ranks ({Reason})")]
    private partial void LogHold(string jobId, long generation, int waiting, int quorum, string reason);

    /// <summary>The first completed step of a generation formed by recovery ends the recovery (and times it).</summary>
    private void CompleteRecoveryIfDue(long generation, long step)
    {
        if (generation != _rv.Generation || S.Recoveries.Count == 0) return;
        var last = S.Recoveries[^1];
        if (last.ToGeneration != generation || step <= 0 || last.Seconds is not null) return;
        if (last.Restart) // a restart went through a rendezvous: the job is Running again already
        {
            if (S.State is not (JobState.Running or JobState.Checkpointing)) return;
            S.Recoveries[^1] = last with { Seconds = (clock.UtcNow - last.DecidedAt).TotalSeconds, FirstStep = step, WorldSize = _rv.Ranks.Count };
            _dirty = true;
            return;
        }
        if (S.State != JobState.Recovering) return;
        if (!Transition(LifecycleEvent.RecoveryCompleted)) return;
        S.Recoveries[^1] = last with { Seconds = (clock.UtcNow - last.DecidedAt).TotalSeconds, FirstStep = step, WorldSize = _rv.Ranks.Count };
        _dirty = true;
    }
}
