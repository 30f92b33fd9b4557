using Cluster.Abstractions;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Logging;

namespace Cluster.Coordinator.Grains;

/// <summary>Effects side of <see cref="JobGrain"/>: carrying out decisions, fencing, timers, persistence.</summary>
public sealed partial class JobGrain
{
    /// <summary>Builds the deciders of <paramref name="spec"/> and returns the parsed job spec.</summary>
    private JobSpec BuildDeciders(JobSpecSummary spec)
    {
        var parsed = JobSpecLoader.Parse(spec.SpecYaml, $"job {spec.JobId}");
        var (minRanks, maxRanks) = parsed.Workers.RankBounds(spec.MinWorkers, spec.MaxWorkers, spec.NprocPerNode, $"job {spec.JobId}");
        _rendezvous = new RendezvousDecider(new RendezvousOptions(spec.MinWorkers, spec.MaxWorkers, spec.NprocPerNode, _options.SettleWindow)
        {
            MaxRanks = maxRanks, MinRanks = minRanks,
        }.Validated());
        _liveness = new LivenessDecider(new LivenessOptions(_options.LeaseDuration, _options.FirstBeatGrace));
        var restart = parsed.Restart;
        _recovery = new RecoveryDecider(new RecoveryOptions(minRanks, spec.RestartBudget,
            TimeSpan.FromSeconds(restart.WaitSeconds))
        {
            Window = TimeSpan.FromMinutes(restart.WindowMinutes), ProbationFailures = restart.ProbationFailures,
            Probation = TimeSpan.FromMinutes(restart.ProbationMinutes),
        });
        _checkpoints = new CheckpointDecider(new CheckpointOptions(spec.JobId, spec.CheckpointDirectory, spec.CheckpointIntervalSteps,
            spec.KeepLastCheckpoints, spec.Seed, _options.CheckpointAckTimeout)
        {
            Lineage = parsed.Name, SpecFields = CheckpointLineage.FieldsOf(parsed),
        });
        return parsed;
    }

    /// <summary>
    /// The checkpoints a new job starts from, found on disk under its lineage root (<see cref="CheckpointLineage.Start"/>).
    /// Refuses a spec whose model, optimizer or data differ from the checkpoint's.
    /// </summary>
    private async Task<(CheckpointState State, string? Note, bool Complete)> FindLineageAsync(JobSpecSummary spec, JobSpec parsed)
    {
        if (string.IsNullOrWhiteSpace(spec.CheckpointDirectory)) return (CheckpointState.Empty, null, false);
        var root = spec.CheckpointDirectory;
        var scan = await Task.Run(() => CheckpointLineage.Scan(root, spec.KeepLastCheckpoints));
        var start = CheckpointLineage.Start(scan, parsed, spec.Fresh, root);
        if (start.Mismatch is { } mismatch) throw new InvalidOperationException($"job '{spec.JobId}' does not match its checkpoints: {mismatch}");
        var state = start.RestoreFrom is { } from
            ? new CheckpointState(scan.LastCheckpointId, from.Step, null, scan.Committed)
            : CheckpointState.Empty with { LastCheckpointId = scan.LastCheckpointId };
        return (state, start.Note, start.Complete);
    }

    private void StartTimer() =>
        _timer ??= this.RegisterGrainTimer(OnTickAsync, new GrainTimerCreationOptions(_options.TickPeriod, _options.TickPeriod) { KeepAlive = true });

    private async Task OnTickAsync(CancellationToken cancellationToken)
    {
        if (!S.Exists || S.State.IsTerminal()) return;
        var now = clock.UtcNow;
        if (S.State is JobState.Pending or JobState.Rendezvous)
        {
            var decision = _rendezvous!.Decide(_rv, new RendezvousEvent.Tick(), now);
            SetRendezvous(decision.State);
            await ApplyAsync(decision.Actions);
        }
        if (S.State == JobState.Recovering && _rv.IsHeld && S.Recoveries.Count > 0)
        {
            var waited = _recovery!.DecideWait(Budget(), S.Recoveries[^1].DecidedAt, _rv.Members.Count, now);
            await ApplyAsync(waited.Actions);
        }
        if (S.State is JobState.Running or JobState.Checkpointing or JobState.Recovering)
        {
            await LoseDeadSilosAsync(now);
            if (!S.State.IsTerminal()) // a dead silo may have failed the job: then it is saved below, with nothing more to decide
            {
                // The beats since the last tick, each at its arrival time.
                _renewals.Flush(_rv.Generation, (ranks, at) => _leases = _liveness!.Decide(_leases, new LivenessEvent.Renew(ranks, at), now).State);
                // A coordinator that could not tick (a state write hanging while Redis was down, a long pause) did not hear
                // the beats queued behind it: that silence is its own, not the ranks'. The leases it holds start over
                // (after the queued beats, whose arrival times are as old as the stall).
                if (_lastTick is { } last && now - last > _options.LeaseDuration / 2)
                {
                    LogStalled(JobId, _rv.Generation, (now - last).TotalSeconds);
                    _leases = _liveness!.Decide(_leases, new LivenessEvent.Renew([.. _leases.Leases.Keys]), now).State;
                }
                var lapse = _liveness!.Decide(_leases, new LivenessEvent.Tick(), now);
                _leases = lapse.State;
                await ApplyAsync(lapse.Actions);
            }
        }
        if (S.State == JobState.Checkpointing)
        {
            var before = S.Checkpoints;
            var decision = _checkpoints!.Decide(before, new CheckpointEvent.Tick(), now);
            if (!ReferenceEquals(decision.State, before)) { S.Checkpoints = decision.State; _dirty = true; }
            await ApplyCheckpointOutcomeAsync(before, decision.Actions);
        }
        await SaveIfChangedAsync();
        _lastTick = clock.UtcNow; // not reached when the save throws: the next tick sees the stall
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} generation {Generation}: the coordinator did not tick for {Seconds:0.0} s (a state write waited on storage?); the rank leases start over")]
    private partial void LogStalled(string jobId, long generation, double seconds);

    /// <summary>Fences a rank call: stale generation or token → Fenced; terminal job → Abort.</summary>
    private (RankSlot? Slot, ControlReply? Refusal) Guard(string memberId, long generation, long token)
    {
        if (!S.Exists) return (null, new ControlReply(ControlDirective.Abort, $"job '{JobId}' has not been submitted", null));
        var (slot, refusal) = RendezvousDecider.CheckFence(_rv, memberId, generation, token);
        if (refusal is not null) return (null, new ControlReply(ControlDirective.Fenced, refusal, null));
        if (S.State.IsTerminal())
            return (null, new ControlReply(ControlDirective.Abort, $"job '{JobId}' is {S.State}: {S.FailureReason}", null));
        return (slot, null);
    }

    /// <summary>Takes the decider's new rendezvous state; persists the generation record only when the generation changed.</summary>
    private void SetRendezvous(RendezvousState next)
    {
        if (ReferenceEquals(next, _rv)) return;
        var started = next.Generation != _rv.Generation || !ReferenceEquals(next.Ranks, _rv.Ranks);
        _rv = next;
        if (!started) return; // waiting members are soft state
        S.Generation = GenerationRecord.Of(next);
        _dirty = true;
    }

    private ControlReply ReplyFor(int rank, long generation)
    {
        if (S.State.IsTerminal()) return new ControlReply(ControlDirective.Abort, $"job '{JobId}' is {S.State}: {S.FailureReason}", null);
        if (S.Checkpoints.Pending is { } p && p.Generation == generation && !p.HasAck(rank))
            return new ControlReply(ControlDirective.Continue, null, new CheckpointDirective(p.CheckpointId, p.Step, p.Directory));
        return ControlReply.Continue;
    }

    private bool Transition(LifecycleEvent evt)
    {
        var decision = JobLifecycle.Decide(S.State, evt);
        if (decision.Rejection is { } reason)
        {
            LogTransitionRejected(JobId, reason);
            return false;
        }
        if (decision.State != S.State)
        {
            S.State = decision.State;
            _dirty = true;
            Signal();
        }
        return true;
    }

    private async Task ApplyAsync(IReadOnlyList<CoordinatorAction> actions)
    {
        foreach (var action in actions)
        {
            switch (action)
            {
                case StartGeneration start:
                    if (!Transition(LifecycleEvent.GenerationStarted)) break;
                    _leases = _liveness!.Decide(_leases, new LivenessEvent.Start(start.Ranks.Count, Recovery: S.State == JobState.Recovering), clock.UtcNow).State;
                    _plan = EpochPlanDecider.ResumePoint(S.Spec!.Seed, S.Checkpoints.Latest);
                    _progress.Clear();
                    LogGeneration(JobId, start.Generation, start.Ranks.Count);
                    Signal();
                    break;
                case FailJob fail:
                    await FailAsync(fail.Reason);
                    break;
                case RanksLost lost:
                    await OnRanksLostAsync(lost);
                    break;
                case CompleteJob:
                    await AbortOpenCheckpointAsync("job completed with a checkpoint open");
                    if (Transition(LifecycleEvent.AllRanksFinished)) Ended();
                    break;
                case OpenCheckpoint open:
                    Transition(LifecycleEvent.CheckpointOpened);
                    LogCheckpointOpened(JobId, open.CheckpointId, open.Step);
                    break;
                case RejectEvent:
                    break;
                default:
                    throw new InvalidOperationException($"job '{JobId}': action {action} is not handled here");
            }
        }
    }

    /// <summary>Carries out commit/discard/prune; a failed manifest write turns the commit into an abort.</summary>
    private async Task ApplyCheckpointOutcomeAsync(CheckpointState before, IReadOnlyList<CoordinatorAction> actions)
    {
        foreach (var action in actions)
        {
            switch (action)
            {
                case CommitCheckpoint commit:
                    try
                    {
                        var committed = await Task.Run(() => CheckpointFiles.Commit(commit.Manifest));
                        S.Checkpoints = S.Checkpoints with { Committed = [.. S.Checkpoints.Committed.SkipLast(1), committed] }; // with its checksum
                        S.LastCheckpointError = null;
                        LogCheckpointCommitted(JobId, commit.Manifest.CheckpointId, commit.Manifest.Step);
                    }
                    catch (Exception e) when (e is IOException or CheckpointCorruptException or UnauthorizedAccessException)
                    {
                        S.Checkpoints = before with { Pending = null };
                        Discard(commit.Manifest.CheckpointId, commit.Manifest.Directory, $"manifest of checkpoint {commit.Manifest.CheckpointId} not written: {e.Message}");
                        Transition(LifecycleEvent.CheckpointResolved);
                        return; // pruning is skipped: nothing new was committed
                    }
                    Transition(LifecycleEvent.CheckpointResolved);
                    break;
                case DiscardCheckpoint discard:
                    Discard(discard.CheckpointId, discard.Directory, discard.Reason);
                    if (S.State == JobState.Checkpointing) Transition(LifecycleEvent.CheckpointResolved);
                    break;
                case PruneCheckpoint prune:
                    CheckpointFiles.Delete(prune.Manifest.Directory);
                    break;
                default:
                    await ApplyAsync([action]);
                    break;
            }
        }
    }

    private async Task AbortOpenCheckpointAsync(string reason)
    {
        if (S.Checkpoints.Pending is null) return;
        var before = S.Checkpoints;
        var decision = _checkpoints!.Decide(before, new CheckpointEvent.Abort(reason), clock.UtcNow);
        S.Checkpoints = decision.State;
        _dirty = true;
        await ApplyCheckpointOutcomeAsync(before, decision.Actions);
    }

    private async Task FailAsync(string reason)
    {
        if (S.State.IsTerminal()) return;
        await AbortOpenCheckpointAsync($"job failed: {reason}");
        if (!Transition(LifecycleEvent.Failure)) return;
        S.FailureReason = reason;
        LogFailed(JobId, reason);
        Ended();
    }

    private void Discard(long checkpointId, string directory, string reason)
    {
        try { CheckpointFiles.Delete(directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { reason += $" (its directory {directory} could not be removed: {e.Message})"; }
        S.LastCheckpointError = reason;
        _dirty = true;
        LogCheckpointDiscarded(JobId, checkpointId, reason);
    }

    private void Ended()
    {
        _dirty = true;
        _leases = _leases with { Failed = true };
        _timer?.Dispose();
        _timer = null;
        Signal();
    }

    private void Signal()
    {
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private async Task SaveIfChangedAsync()
    {
        if (!_dirty) return;
        await store.WriteStateAsync();
        _dirty = false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} submitted: workers {Min}..{Max} x {Nproc}")]
    private partial void LogSubmitted(string jobId, int min, int max, int nproc);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: {Note}")]
    private partial void LogRestore(string jobId, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: join of node {NodeId} refused: wrong proof")]
    private partial void LogJoinRefused(string jobId, string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: generation {Generation} started with {WorldSize} ranks")]
    private partial void LogGeneration(string jobId, long generation, int worldSize);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: progress of rank {Rank} ignored: {Reason}")]
    private partial void LogProgressRejected(string jobId, int rank, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: {Reason}")]
    private partial void LogTransitionRejected(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: checkpoint {CheckpointId} opened at step {Step}")]
    private partial void LogCheckpointOpened(string jobId, long checkpointId, long step);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: checkpoint {CheckpointId} committed at step {Step}")]
    private partial void LogCheckpointCommitted(string jobId, long checkpointId, long step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: checkpoint {CheckpointId} discarded: {Reason}")]
    private partial void LogCheckpointDiscarded(string jobId, long checkpointId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: generation {Generation} lost ranks ({Reason}); the survivors form generation {Next} with {WorldSize} ranks")]
    private partial void LogRecovery(string jobId, long generation, long next, int worldSize, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} generation {Generation}: every rank lost; the rendezvous reopens and the job restarts from {From} ({Reason})")]
    private partial void LogRestart(string jobId, long generation, string from, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "job {JobId} failed: {Reason}")]
    private partial void LogFailed(string jobId, string reason);
}
