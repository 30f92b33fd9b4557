using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Logging;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// Planned resizes of a running job (<see cref="JobGrain"/>): `cluster scale` and a node agent's drain on SIGTERM. The next
/// generation is formed at once; the ranks of the active one (those that stay and those that leave) end it together at a
/// step boundary, as for an admission (<see cref="RegroupFor"/>), so no step is lost or rolled back, and the budget of
/// restarts is not spent.
/// </summary>
public sealed partial class JobGrain
{
    /// <inheritdoc />
    public async Task<ScaleResult> Scale(int workers)
    {
        if (!S.Exists) return new ScaleResult(false, $"job '{JobId}' has not been submitted");
        if (S.State.IsTerminal()) return new ScaleResult(false, $"job '{JobId}' is {S.State}: nothing to scale");
        if (S.State == JobState.Recovering)
            return new ScaleResult(false, $"job '{JobId}' is recovering (generation {_rv.Generation}): scale it once it trains again", S.TargetWorkers);
        var decision = _rendezvous!.Decide(_rv, new RendezvousEvent.Scale(workers), clock.UtcNow);
        if (decision.Rejection is { } reason) return new ScaleResult(false, reason, S.TargetWorkers);
        S.TargetWorkers = workers;
        _dirty = true;
        if (decision.State.Generation == _rv.Generation)
        {
            SetRendezvous(decision.State);
            await SaveIfChangedAsync();
            LogScaled(JobId, _rv.Generation, workers, "no change to the running generation");
            return new ScaleResult(true, _rv.IsOpen
                ? $"the job starts with at most {workers} worker(s)"
                : $"{workers} worker(s) wanted, {_rv.Ranks.Select(r => r.Member.NodeId).Distinct(StringComparer.Ordinal).Count()} train: agents that join are admitted at a step boundary",
                workers);
        }
        var outcome = await PlannedRegroupAsync(decision, $"scaled to {workers} worker(s)");
        return outcome ?? new ScaleResult(true, $"generation {_rv.Generation} holds {_rv.Ranks.Count} rank(s) from the next step boundary", workers, _rv.Generation);
    }

    /// <inheritdoc />
    public async Task<ScaleResult> Drain(NodeDrainRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!S.Exists) return new ScaleResult(false, $"job '{JobId}' has not been submitted");
        if (!JoinProof.Verify(S.SecretBase64!, JobId, request.NodeId, request.Proof))
        {
            LogJoinRefused(JobId, request.NodeId);
            return new ScaleResult(false, $"join proof of node {request.NodeId} does not match the job secret");
        }
        if (S.State is not (JobState.Running or JobState.Checkpointing))
            return new ScaleResult(false, $"job '{JobId}' is {S.State}: no running generation to drain from");
        if (RendezvousDecider.GenerationRefusal(_rv, request.Generation) is { } stale) return new ScaleResult(false, stale);
        var decision = _rendezvous!.Decide(_rv, new RendezvousEvent.Drain([request.NodeId]), clock.UtcNow);
        if (decision.Rejection is { } reason) return new ScaleResult(false, reason);
        var outcome = await PlannedRegroupAsync(decision, $"node {request.NodeId} drained (its agent stops)");
        return outcome ?? new ScaleResult(true, $"node {request.NodeId} leaves at the next step boundary; generation {_rv.Generation} holds {_rv.Ranks.Count} rank(s)",
            S.TargetWorkers, _rv.Generation);
    }

    /// <summary>Forms the decided generation for a planned resize; null when it was formed, else why not.</summary>
    private async Task<ScaleResult?> PlannedRegroupAsync(Decision<RendezvousState> decision, string reason)
    {
        var from = _rv.Generation;
        var drained = _rv.Ranks.Select(r => r.Member.NodeId).Distinct(StringComparer.Ordinal).Where(n => decision.State.SlotsOfNode(n).Count == 0).ToList();
        await AbortOpenCheckpointAsync(reason);
        if (!Transition(LifecycleEvent.RecoveryStarted))
        {
            await SaveIfChangedAsync();
            return new ScaleResult(false, $"job '{JobId}' is {S.State}: the generation cannot change now", S.TargetWorkers);
        }
        var step = _progress.Count == 0 ? 0 : _progress.Values.Max(p => p.Step);
        SetRendezvous(decision.State);
        S.Recoveries.Add(new RecoveryRecord(from, decision.State.Generation, reason, clock.UtcNow, step, decision.State.Ranks.Count,
            Planned: true, Drained: drained.Count == 0 ? null : drained));
        LogScaled(JobId, from, decision.State.Ranks.Count, $"{reason}; generation {decision.State.Generation} from the next step boundary");
        await ApplyAsync(decision.Actions);
        await SaveIfChangedAsync();
        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} generation {Generation}: resized to {Size}: {Detail}")]
    private partial void LogScaled(string jobId, long generation, int size, string detail);
}
