using Cluster.Collectives;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// The node-level calls of <see cref="JobGrain"/>: a node agent joins, waits, fetches the peer table and beats for all
/// its ranks, so the grain's call rate grows with nodes, not ranks. Every rank in a call is fenced on its own.
/// </summary>
public sealed partial class JobGrain
{
    /// <summary>Most local ranks one node call may carry (bounds the work and the allocation per call).</summary>
    public const int MaxLocalRanks = 1024;

    /// <inheritdoc />
    public async Task<JoinResult> JoinNode(NodeJoinRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var nodeId = request.NodeId;
        if (!S.Exists) return new JoinResult(false, nodeId, $"job '{JobId}' has not been submitted");
        if (S.State.IsTerminal()) return new JoinResult(false, nodeId, $"job '{JobId}' is {S.State}: {S.FailureReason}");
        if (!JoinProof.Verify(S.SecretBase64!, JobId, nodeId, request.Proof))
        {
            LogJoinRefused(JobId, nodeId);
            return new JoinResult(false, nodeId, $"join proof of node {nodeId} does not match the job secret");
        }
        if (request.Ranks is not { Count: > 0 and <= MaxLocalRanks } ranks)
            return new JoinResult(false, nodeId, $"node {nodeId} must join with 1..{MaxLocalRanks} local ranks");
        if (request.Silo is { Length: > NodeJoinRequest.MaxSiloLength })
            return new JoinResult(false, nodeId, $"node {nodeId}: a silo address is at most {NodeJoinRequest.MaxSiloLength} characters");
        if (ranks.Select(r => r.LocalRank).Distinct().Count() != ranks.Count)
            return new JoinResult(false, nodeId, $"node {nodeId} listed a local rank twice");
        var now = clock.UtcNow;
        var members = ranks.Select(r => new RendezvousMember(MemberIds.Of(nodeId, r.LocalRank), nodeId, r.LocalRank, request.HostId,
            request.AdvertisedHost, r.Port, r.Pid, now, request.Silo)).ToList();
        // A node on probation (too many of its ranks lost lately) gets nothing of a running job: no replacement, no admission.
        var admission = IsAdmission(members);
        if ((admission || request.Admission) && ProbationOf(nodeId) is { } probation) return new JoinResult(false, nodeId, probation);
        if (admission) return await AdmitAsync(nodeId, members);
        // A replacement asks to be admitted into a running generation: none runs (the job restarts from its checkpoint and
        // its node starts over), so it is not a rendezvous member either; unless survivors wait for it (a held rendezvous).
        if (request.Admission && !_rv.IsHeld) return new JoinResult(false, nodeId, $"job '{JobId}' has no running generation to admit into ({S.State})");
        var decision = _rendezvous!.Decide(_rv, new RendezvousEvent.Join(members), now);
        if (decision.Rejection is { } reason) return new JoinResult(false, nodeId, reason);
        if (!ReferenceEquals(decision.State, _rv))
        {
            // Not persisted per join (that wrote the whole member list once per join): the waiting members are soft state,
            // written with the next real change (the first join's transition, the generation start). After a coordinator
            // restart a waiting node is unknown and joins again (RendezvousClient).
            if (S.State == JobState.Pending) Transition(LifecycleEvent.MemberJoined);
            SetRendezvous(decision.State);
        }
        await ApplyAsync(decision.Actions);
        await SaveIfChangedAsync();
        return new JoinResult(true, nodeId, null);
    }

    /// <inheritdoc />
    public async Task<NodeAssignmentResult> WaitForNodeAssignment(string nodeId, TimeSpan maxWait)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        var wait = maxWait <= TimeSpan.Zero ? TimeSpan.Zero : maxWait < _options.MaxLongPoll ? maxWait : _options.MaxLongPoll;
        // Real time on purpose: this bounds an Orleans call, whose response timeout runs on real time.
        var deadline = TimeProvider.System.GetTimestamp() + (long)(wait.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            if (Evaluate(nodeId) is { } result) return result;
            var remaining = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
                return new NodeAssignmentResult(AssignmentStatus.Timeout, null, $"no generation yet for node {nodeId} after {wait.TotalSeconds:0.###}s; poll again");
            try { await _changed.Task.WaitAsync(remaining, TimeProvider.System); }
            catch (TimeoutException) { /* re-evaluate once more, then report the timeout */ }
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Only the addresses the node's ranks connect to: their data-plane partners (<see cref="PeerTopology"/>: ring
    /// neighbours and recursive-doubling partners, at most log2(N) + 2 per rank) and every rank on the node's host (shared
    /// memory, device numbering). A node fetches O(ranks per node × log N) entries, not the whole world.
    /// </remarks>
    public Task<PeerTable> GetPeerTable(string nodeId, long generation)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        var rv = _rv;
        if (!S.Exists || rv.IsOpen || generation != rv.Generation)
            throw new InvalidOperationException($"job '{JobId}': generation {generation} is not the active generation ({(rv.IsOpen ? "none" : rv.Generation)})");
        var slots = rv.SlotsOfNode(nodeId);
        if (slots.Count == 0) throw new InvalidOperationException($"job '{JobId}': node {nodeId} has no rank in generation {generation}");
        if (_peers?.Generation != rv.Generation) // built once per generation
        {
            if (rv.Ranks.Any(r => r.Member.Port == 0)) // ports are soft state (see GenerationRecord)
                throw new InvalidOperationException($"job '{JobId}': the peer table of generation {generation} was lost when the coordinator restarted");
            var peers = rv.Ranks.Select(r => new PeerEndpoint(r.Rank, r.Member.Host, r.Member.Port, r.Member.HostId)).ToList();
            _peers = new PeerIndex(rv.Generation, peers, peers.ToLookup(p => p.HostId, p => p.Rank, StringComparer.Ordinal));
        }
        var all = _peers.Peers;
        var wanted = new SortedSet<int>(slots.SelectMany(s => PeerTopology.Partners(s.Rank, all.Count).Append(s.Rank)));
        foreach (var host in slots.Select(s => s.Member.HostId).Distinct(StringComparer.Ordinal)) wanted.UnionWith(_peers.RanksOnHost[host]);
        return Task.FromResult(new PeerTable(rv.Generation, all.Count, PeerTableCodec.Pack([.. wanted.Select(r => all[r])], all.Count)));
    }

    /// <inheritdoc />
    public async Task<NodeBeatReply> Beat(NodeBeat beat)
    {
        ArgumentNullException.ThrowIfNull(beat);
        ArgumentNullException.ThrowIfNull(beat.Ranks);
        if (!S.Exists) return new NodeBeatReply(ControlDirective.Abort, $"job '{JobId}' has not been submitted", []);
        if (beat.Ranks.Count > MaxLocalRanks) return new NodeBeatReply(ControlDirective.Fenced, $"a beat carries at most {MaxLocalRanks} ranks", []);
        if (RegroupFor(beat.NodeId, beat.Generation) is { } regroup) return new NodeBeatReply(regroup.Directive, regroup.Reason, [], regroup.AtStepBoundary, Released: regroup.Released);
        if (S.State.IsTerminal()) return new NodeBeatReply(ControlDirective.Abort, $"job '{JobId}' is {S.State}: {S.FailureReason}", []);
        // The fence once per node (generation, then the node's slots), then each rank's token against its slot.
        var replies = new List<RankReply>();
        var admitted = new List<(RankBeat Entry, RankSlot Slot)>(beat.Ranks.Count);
        var stale = RendezvousDecider.GenerationRefusal(_rv, beat.Generation);
        var slots = stale is null ? _rv.SlotsOfNode(beat.NodeId) : [];
        foreach (var entry in beat.Ranks)
        {
            var slot = slots.FirstOrDefault(s => s.Member.LocalRank == entry.LocalRank);
            // The member id is only spelled out for a refusal (no string per rank per beat).
            var refusal = stale ?? (slot is null ? RendezvousDecider.NoSlotRefusal(MemberIds.Of(beat.NodeId, entry.LocalRank), beat.Generation)
                : RendezvousDecider.TokenRefusal(slot, beat.Generation, entry.FencingToken));
            if (refusal is null) admitted.Add((entry, slot!));
            else replies.Add(new RankReply(entry.LocalRank, new ControlReply(ControlDirective.Fenced, refusal, null)));
        }
        var fenced = replies.Count;
        if (admitted.Count > 0) _renewals.Add(beat.Generation, admitted.Select(a => a.Slot.Rank), clock.UtcNow); // applied at the next tick
        // After a reactivation the ranks' collective endpoints are unknown (soft state): the node sends them when asked.
        var endpoints = admitted.Where(a => a.Entry.Endpoint is not null && a.Entry.Endpoint.LocalRank == a.Entry.LocalRank).Select(a => a.Entry.Endpoint!).ToList();
        if (endpoints.Count > 0) _rv = _rv.WithEndpoints(beat.NodeId, endpoints);
        var askEndpoints = admitted.Any(a => a.Slot.Member.Port == 0) && endpoints.Count == 0;
        foreach (var (entry, slot) in admitted)
        {
            if (entry.Progress is { } progress)
            {
                var reply = await OnProgressAsync(slot, progress, beat.Generation);
                // Answered when it asked something, or when a checkpoint is open that this rank has not voted for yet.
                if (progress.Checkpoint != CheckpointRequestKind.None || reply.Checkpoint is not null) replies.Add(new RankReply(entry.LocalRank, reply));
            }
            if (entry.Vote is { } vote) replies.Add(new RankReply(entry.LocalRank, await OnVoteAsync(slot, vote, beat.Generation), Vote: true));
        }
        await SaveIfChangedAsync();
        if (S.State.IsTerminal()) return new NodeBeatReply(ControlDirective.Abort, $"job '{JobId}' is {S.State}: {S.FailureReason}", replies);
        return fenced > 0 && fenced == beat.Ranks.Count
            ? new NodeBeatReply(ControlDirective.Fenced, replies[0].Reply.Reason, replies)
            : new NodeBeatReply(ControlDirective.Continue, null, replies, SendEndpoints: askEndpoints);
    }

    /// <inheritdoc />
    public async Task<ControlReply> WaitForDirective(string nodeId, long generation, TimeSpan maxWait)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        var wait = maxWait <= TimeSpan.Zero ? TimeSpan.Zero : maxWait < _options.MaxLongPoll ? maxWait : _options.MaxLongPoll;
        var deadline = TimeProvider.System.GetTimestamp() + (long)(wait.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (true)
        {
            if (DirectiveFor(nodeId, generation) is { } directive) return directive;
            var remaining = TimeProvider.System.GetElapsedTime(TimeProvider.System.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero) return ControlReply.Continue;
            try { await _changed.Task.WaitAsync(remaining, TimeProvider.System); }
            catch (TimeoutException) { /* re-evaluate once more, then answer Continue */ }
        }
    }

    /// <summary>What a node of <paramref name="generation"/> must do now, or null while it keeps training (or the job completed).</summary>
    private ControlReply? DirectiveFor(string nodeId, long generation)
    {
        if (!S.Exists) return new ControlReply(ControlDirective.Abort, $"job '{JobId}' has not been submitted", null);
        if (S.State == JobState.Completed) return null; // ranks finish on their own; the call is held until its deadline
        if (S.State.IsTerminal()) return new ControlReply(ControlDirective.Abort, $"job '{JobId}' is {S.State}: {S.FailureReason}", null);
        if (generation == 0) return null; // a node not assigned yet only waits for the job to end
        if (RegroupFor(nodeId, generation) is { } regroup) return regroup;
        var rv = _rv;
        if (rv.IsOpen || rv.Generation != generation || rv.SlotsOfNode(nodeId).Count == 0)
            return new ControlReply(ControlDirective.Fenced, $"node {nodeId} is not in the active generation {(rv.IsOpen ? "(none)" : rv.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture))}; it spoke for generation {generation}", null);
        return null;
    }

    /// <summary>The peers of a generation, built once, with the ranks of each host.</summary>
    private sealed record PeerIndex(long Generation, IReadOnlyList<PeerEndpoint> Peers, ILookup<string, int> RanksOnHost);

    /// <summary>Current answer for a long-polling node, or null to keep waiting.</summary>
    private NodeAssignmentResult? Evaluate(string nodeId)
    {
        if (!S.Exists) return new NodeAssignmentResult(AssignmentStatus.Unknown, null, $"job '{JobId}' has not been submitted");
        if (S.State.IsTerminal()) return new NodeAssignmentResult(AssignmentStatus.Aborted, null, $"job '{JobId}' is {S.State}: {S.FailureReason}");
        var rv = _rv;
        var slots = rv.SlotsOfNode(nodeId);
        if (slots.Count > 0)
        {
            var local = slots.Select(s => new LocalSlot(s.Member.LocalRank, s.Rank, RendezvousDecider.FencingToken(rv.Generation, s.Rank))).ToList();
            return new NodeAssignmentResult(AssignmentStatus.Assigned,
                new NodeAssignment(JobId, rv.Generation, rv.Ranks.Count, local, S.SecretBase64!, _plan!, S.Checkpoints.Latest,
                    rv.Spares.Count == 0 ? null : rv.SparesOfNode(nodeId)), null);
        }
        if (!rv.HasNode(nodeId))
            return new NodeAssignmentResult(AssignmentStatus.NotJoined, null, $"node {nodeId} has not joined job '{JobId}'");
        return rv.IsOpen
            ? null
            : new NodeAssignmentResult(AssignmentStatus.NotAdmitted, null, $"generation {rv.Generation} started without node {nodeId} (node incomplete or above max workers)");
    }

    private async Task<ControlReply> OnProgressAsync(RankSlot slot, ProgressReport report, long generation)
    {
        _progress[slot.Rank] = report;
        CompleteRecoveryIfDue(generation, report.Step);
        var observed = EpochPlanDecider.Observe(_plan!, report.Epoch, report.Cursor);
        if (observed.Rejection is { } bad) LogProgressRejected(JobId, slot.Rank, bad);
        else _plan = observed.State;
        // Only a request or an interval step can open a checkpoint: plain progress skips the decider (it is most of the beats).
        var interval = S.Spec!.CheckpointIntervalSteps;
        // While a checkpoint is open only the last step's request is decided (it may mark that checkpoint final).
        var final = report.Checkpoint == CheckpointRequestKind.Final;
        if ((S.State == JobState.Running || (S.State == JobState.Checkpointing && final))
            && (report.Checkpoint != CheckpointRequestKind.None || (interval > 0 && report.Step % interval == 0)))
        {
            var decision = _checkpoints!.Decide(S.Checkpoints, new CheckpointEvent.StepCompleted(report.Step, generation, _rv.Ranks.Count,
                report.Checkpoint != CheckpointRequestKind.None, report.Checkpoint == CheckpointRequestKind.Final), clock.UtcNow);
            if (!ReferenceEquals(decision.State, S.Checkpoints)) { S.Checkpoints = decision.State; _dirty = true; }
            await ApplyAsync(decision.Actions);
        }
        var reply = ReplyFor(slot.Rank, generation);
        // Asked for a checkpoint at this step while an earlier one is still open: the rank asks again shortly.
        return report.Checkpoint != CheckpointRequestKind.None && reply.Directive == ControlDirective.Continue
            && S.Checkpoints.Pending is { } open && open.Step < report.Step && reply.Checkpoint?.Step != report.Step
            ? reply with { CheckpointBusy = true, Reason = $"checkpoint {open.CheckpointId} of step {open.Step} is still open" }
            : reply;
    }

    private async Task<ControlReply> OnVoteAsync(RankSlot slot, CheckpointVote vote, long generation)
    {
        var ack = new CheckpointAck(vote.CheckpointId, generation, slot.Rank, vote.Epoch, vote.Cursor, vote.Files ?? [], vote.Error);
        var decision = _checkpoints!.Decide(S.Checkpoints, new CheckpointEvent.Ack(ack), clock.UtcNow);
        if (decision.Rejection is { } reason) return new ControlReply(ControlDirective.Continue, reason, null);
        var before = S.Checkpoints;
        S.Checkpoints = decision.State;
        // A vote alone is not persisted (the open checkpoint is discarded if the coordinator restarts); the commit or the
        // discard it leads to is.
        await ApplyCheckpointOutcomeAsync(before, decision.Actions);
        return ReplyFor(slot.Rank, generation);
    }
}
