using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Logging;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// Admission into a running job (<see cref="JobGrain"/>): a node agent that restarted a lost rank joins it again with the
/// job's join proof; the next generation holds the active ranks and the newcomer, and the active ranks end their
/// generation together at a step boundary (<see cref="ControlReply.AtStepBoundary"/>) before they form it.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>True when a join of <paramref name="members"/> is an admission into the active generation.</summary>
    private bool IsAdmission(IReadOnlyList<RendezvousMember> members) =>
        !_rv.IsOpen && (S.State is JobState.Running or JobState.Checkpointing or JobState.Recovering) && members.Any(m => _rv.SlotOf(m.MemberId) is null);

    private async Task<JoinResult> AdmitAsync(string nodeId, IReadOnlyList<RendezvousMember> members)
    {
        var decision = _rendezvous!.Decide(_rv, new RendezvousEvent.Admit(members), clock.UtcNow);
        if (decision.Rejection is { } reason) return new JoinResult(false, nodeId, reason);
        if (ReferenceEquals(decision.State, _rv)) return new JoinResult(true, nodeId, null);
        if (decision.State.Generation == _rv.Generation)
        {
            // The generation is full: the newcomers wait as spares, the active ranks train on undisturbed.
            SetRendezvous(decision.State);
            LogSpares(JobId, _rv.Generation, _rv.Ranks.Count, _rv.Spares.Count, nodeId);
            await SaveIfChangedAsync();
            return new JoinResult(true, nodeId,
                $"generation {_rv.Generation} is full ({_rv.Ranks.Count} of workers.maxRanks); {_rv.SparesOfNode(nodeId).Count} rank(s) of node {nodeId} wait as spares", Spare: true);
        }
        var names = string.Join(", ", members.Where(m => _rv.SlotOf(m.MemberId) is null).Select(m => m.MemberId));
        await AbortOpenCheckpointAsync($"{names} admitted");
        if (!Transition(LifecycleEvent.RecoveryStarted)) return new JoinResult(false, nodeId, $"job '{JobId}' is {S.State}: nothing can be admitted");
        var from = _rv.Generation;
        var step = _progress.Count == 0 ? 0 : _progress.Values.Max(p => p.Step);
        SetRendezvous(decision.State);
        S.Recoveries.Add(new RecoveryRecord(from, decision.State.Generation, $"admitted {names}", clock.UtcNow, step, decision.State.Ranks.Count, Admission: true));
        LogAdmitted(JobId, from, decision.State.Generation, decision.State.Ranks.Count, names);
        await ApplyAsync(decision.Actions);
        await SaveIfChangedAsync();
        return new JoinResult(true, nodeId, null);
    }

    /// <summary>
    /// A Regroup directive when <paramref name="nodeId"/> spoke for an older generation and has ranks in the active one (at a
    /// step boundary when the active generation was formed from that one by an admission: no rank of it was lost), or spoke
    /// for the last generation and has survivors waiting for replacements.
    /// </summary>
    private ControlReply? RegroupFor(string nodeId, long generation)
    {
        var rv = _rv;
        if (rv.IsHeld && generation == rv.Generation && rv.HasNode(nodeId))
            return new ControlReply(ControlDirective.Regroup,
                $"generation {generation} is over; node {nodeId} has rank(s) waiting for replacements ({rv.Members.Count} of {rv.Quorum} ranks wait)", null);
        if (rv.IsOpen || generation <= 0 || generation >= rv.Generation) return null;
        // Planned (an admission, a scale, a drain): the active generation was formed from this one and lost no rank.
        var planned = S.Recoveries.Count > 0 && S.Recoveries[^1] is { } last && (last.Admission || last.Planned)
            && last.FromGeneration == generation && last.ToGeneration == rv.Generation ? last : null;
        if (rv.SlotsOfNode(nodeId).Count == 0)
        {
            // A node that left with the plan ends the generation with the others at the boundary, then its ranks exit 0.
            return planned?.Drained is { } drained && drained.Contains(nodeId, StringComparer.Ordinal)
                ? new ControlReply(ControlDirective.Regroup, $"generation {generation} is over; node {nodeId} leaves the job ({planned.Reason})", null,
                    AtStepBoundary: true, Released: true)
                : null;
        }
        var boundary = planned is not null;
        return new ControlReply(ControlDirective.Regroup,
            $"generation {generation} is over; node {nodeId} has {rv.SlotsOfNode(nodeId).Count} rank(s) in generation {rv.Generation}", null, AtStepBoundary: boundary);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} generation {Generation}: full at {WorldSize} ranks; {Spares} spare(s) wait, the last from node {NodeId}")]
    private partial void LogSpares(string jobId, long generation, int worldSize, int spares, string nodeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} generation {Generation}: admitting {Members}; generation {Next} holds {WorldSize} ranks")]
    private partial void LogAdmitted(string jobId, long generation, long next, int worldSize, string members);
}
