using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Local;

/// <summary>Elastic recovery on the node's side of <see cref="NodeVoice"/>: from one generation to the next, and the admission of a replacement.</summary>
public sealed partial class NodeVoice
{
    /// <summary>
    /// The coordinator regrouped the survivors of <paramref name="generation"/> (heard from a beat reply, the held directive
    /// call or an exit report of that generation); a late word about an older generation is ignored.
    /// </summary>
    private void SignalRegroup(ControlReply reply, long generation)
    {
        lock (_gate)
        {
            if (Generation?.Assignment.Generation == generation) _regroup.TrySetResult(reply);
        }
    }

    /// <summary>
    /// Generation <paramref name="old"/> is over: every rank of it on this node hears so at once (it aborts its collectives
    /// and keeps its state), requests and votes of the old generation are answered with the regroup, then the node's part
    /// of the next generation is fetched and handed to the ranks in it. A node with no rank in it is fenced.
    /// </summary>
    private async Task RegroupAsync(NodeGeneration old, ControlReply regroup, CancellationToken cancellationToken)
    {
        var locals = old.Assignment.Slots.Select(s => s.LocalRank).ToList();
        List<TaskCompletionSource<ControlReply>> waiting;
        List<RankState> told;
        List<int> hung;
        lock (_gate)
        {
            told = [.. locals.Select(i => _ranks[i]).OfType<RankState>().Where(r => !r.Gone)];
            // Silent past the cutoff when its generation ends: hung (its lease lapsed); the agent kills it so it is replaced.
            var silentAt = _time.GetTimestamp();
            hung = [.. locals.Where(i => _ranks[i] is { Gone: false } r && _time.GetElapsedTime(r.LastHeard, silentAt) > _options.RankSilentAfter)];
            foreach (var i in hung) _hung.Add(i);
            waiting = Waiting(told);
            foreach (var r in told)
            {
                r.Requests.Clear();
                r.Votes.Clear();
                r.Latest = r.Sent = null; // progress of the old generation is not sent for the new one
            }
        }
        foreach (var i in hung) LogHung(jobId, old.Assignment.Generation, _options.NodeId, i, _options.RankSilentAfter.TotalSeconds);
        foreach (var w in waiting) w.TrySetResult(regroup);
        foreach (var rank in told) await SafeSendAsync(rank, new LocalMessage.Directive(regroup), cancellationToken).ConfigureAwait(false);
        LogRegroup(jobId, old.Assignment.Generation, _options.NodeId, regroup.Reason ?? "");
        if (regroup.Released)
        {
            await ReleaseAsync(old, told, regroup, cancellationToken).ConfigureAwait(false);
            return;
        }
        NodeGeneration next;
        try
        {
            next = await RendezvousClient.WaitForNextAsync(job, jobId, _options.NodeId, old.Assignment.Generation, _options.RendezvousTimeout, _time, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or FormatException)
        {
            await EndAsync(new ControlReply(ControlDirective.Fenced, $"node {_options.NodeId} is not in the generation after {old.Assignment.Generation}: {e.Message}", null)).ConfigureAwait(false);
            return;
        }
        lock (_gate)
        {
            // What the old generation's ranks queued while the next one was fetched (a regroup at a step boundary: they
            // trained to the end of their step) is answered with the regroup, never sent as the new generation's.
            waiting = Waiting(told);
            foreach (var r in told)
            {
                r.Requests.Clear();
                r.Votes.Clear();
                r.Latest = r.Sent = null;
            }
            Generation = next;
            SetSpares(next.Assignment);
            _regroup = new TaskCompletionSource<ControlReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        foreach (var w in waiting) w.TrySetResult(regroup);
        LogAssigned(jobId, next.Assignment.Generation, _options.NodeId, next.Assignment.WorldSize);
        var now = _time.GetTimestamp();
        foreach (var slot in next.Assignment.Slots)
        {
            RankState? rank;
            lock (_gate)
            {
                rank = _ranks[slot.LocalRank];
                if (rank is not null) rank.LastHeard = now;
            }
            if (rank is { Gone: false }) await SafeSendAsync(rank, new LocalMessage.Assigned(next.For(slot.LocalRank)), cancellationToken).ConfigureAwait(false);
            // Died while the coordinator regrouped (its exit was reported for the old generation): report it for this one.
            else if (rank is { Exit: { } exit }) _ = ReportAgainAsync(slot.LocalRank, exit.Code, exit.Detail, cancellationToken);
        }
        foreach (var spare in next.Assignment.Spares ?? [])
        {
            RankState? rank;
            lock (_gate) rank = _ranks[spare];
            if (rank is { Gone: false }) await SafeSendAsync(rank, new LocalMessage.Standby(SpareReason(next.Assignment)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A replacement of a lost local rank attached: the node joins it to the running job (join proof of the node), the
    /// coordinator forms the next generation with it and regroups the active ranks at a step boundary; the new rank's
    /// assignment comes with that regroup (<see cref="RegroupAsync"/>). Refused: the rank hears why and exits.
    /// </summary>
    private async Task AdmitAsync(int localRank, int port, int pid, IRankOutbox outbox)
    {
        var request = new NodeJoinRequest(_options.NodeId, _options.HostId, _options.AdvertiseHost, [new LocalEndpoint(localRank, port, pid)],
            JoinProof.Compute(secretBase64, jobId, _options.NodeId), Admission: true, Silo: _options.Silo);
        JoinResult result;
        try { result = await job.JoinNode(request).WaitAsync(_options.RendezvousTimeout, _time).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or Orleans.Runtime.OrleansException)
        {
            result = new JoinResult(false, _options.NodeId, $"the admission call failed: {e.Message}");
        }
        if (result is { Accepted: true, Spare: true })
        {
            LogSpare(jobId, _options.NodeId, localRank, result.Reason ?? "");
            lock (_gate) _spares.Add(localRank);
            try { await outbox.SendAsync(new LocalMessage.Standby(result.Reason ?? "the generation is full"), CancellationToken.None).ConfigureAwait(false); }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { /* gone already */ }
            return;
        }
        if (result.Accepted)
        {
            LogAdmissionAsked(jobId, _options.NodeId, localRank);
            return;
        }
        LogAdmissionRefused(jobId, _options.NodeId, localRank, result.Reason ?? "");
        try { await outbox.SendAsync(new LocalMessage.Refused($"local rank {localRank} not admitted: {result.Reason}"), CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { /* gone already */ }
    }

    /// <summary>
    /// The node leaves the job (drained, or scaled down): its ranks end the generation with the others at the step boundary
    /// and exit 0 on their own; the node's part ends once they are gone, or after <see cref="ReleaseDeadline"/> (the agent
    /// then stops what is left). Requests and votes they send meanwhile are answered with the release.
    /// </summary>
    private async Task ReleaseAsync(NodeGeneration old, List<RankState> told, ControlReply release, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (_time.GetElapsedTime(started) < ReleaseDeadline)
        {
            List<TaskCompletionSource<ControlReply>> waiting;
            bool gone;
            lock (_gate)
            {
                waiting = Waiting(told);
                gone = told.All(r => r.Gone);
            }
            foreach (var w in waiting) w.TrySetResult(release);
            if (gone) break;
            await Task.Delay(ReleasePoll, _time, cancellationToken).ConfigureAwait(false);
        }
        LogReleased(jobId, old.Assignment.Generation, _options.NodeId, told.Count(r => !r.Gone));
        await EndAsync(release).ConfigureAwait(false);
    }

    /// <summary>
    /// Asks the coordinator to let this node leave at the next step boundary (its agent stops); null when the node holds no
    /// rank of a generation. Accepted: the release comes back like any directive and <see cref="Ended"/> completes once the
    /// ranks left.
    /// </summary>
    public async Task<ScaleResult?> DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Generation is not { } g || g.Assignment.Slots.Count == 0 || _ended.Task.IsCompleted) return null;
        var request = new NodeDrainRequest(_options.NodeId, g.Assignment.Generation, JoinProof.Compute(secretBase64, jobId, _options.NodeId));
        try { return await job.Drain(request).WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException)
        {
            return new ScaleResult(false, $"the drain call failed: {e.Message}");
        }
    }

    /// <summary>How long a released node waits for its ranks to reach the step boundary and exit (their own deadline, 30 s, and margin).</summary>
    public static readonly TimeSpan ReleaseDeadline = TimeSpan.FromSeconds(40);

    private static readonly TimeSpan ReleasePoll = TimeSpan.FromMilliseconds(100);

    /// <summary>The local ranks found hung at a regroup since the last call (the node agent kills their processes).</summary>
    public IReadOnlyList<int> TakeHung()
    {
        lock (_gate)
        {
            if (_hung.Count == 0) return [];
            List<int> taken = [.. _hung];
            _hung.Clear();
            return taken;
        }
    }

    private async Task ReportAgainAsync(int localRank, int code, string? detail, CancellationToken cancellationToken)
    {
        try { await ReportExitAsync(localRank, code, detail, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogReportAgainFailed(jobId, _options.NodeId, localRank, e.Message); // its lease lapses instead
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} asked the coordinator to admit the replacement of local rank {LocalRank}")]
    private partial void LogAdmissionAsked(string jobId, string nodeId, int localRank);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId}: the replacement of local rank {LocalRank} waits as a spare: {Reason}")]
    private partial void LogSpare(string jobId, string nodeId, int localRank, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: node {NodeId}: the replacement of local rank {LocalRank} is not admitted: {Reason}")]
    private partial void LogAdmissionRefused(string jobId, string nodeId, int localRank, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId}: node {NodeId} could not report the exit of local rank {LocalRank} again: {Reason}")]
    private partial void LogReportAgainFailed(string jobId, string nodeId, int localRank, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} generation {Generation}: node {NodeId}: local rank {LocalRank} was silent for more than {Seconds:0.###} s when its generation ended: hung, to be killed and replaced")]
    private partial void LogHung(string jobId, long generation, string nodeId, int localRank, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} generation {Generation}: node {NodeId} left the job; {Left} rank(s) still running are stopped")]
    private partial void LogReleased(string jobId, long generation, string nodeId, int left);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} generation {Generation}: node {NodeId} regroups its ranks: {Reason}")]
    private partial void LogRegroup(string jobId, long generation, string nodeId, string reason);
}
