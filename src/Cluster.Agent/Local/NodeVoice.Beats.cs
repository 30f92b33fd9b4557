using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Local;

/// <summary>The beat loop and the held directive call of <see cref="NodeVoice"/>.</summary>
public sealed partial class NodeVoice
{
    private static readonly TimeSpan DirectivePoll = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);
    private volatile bool _announce;

    /// <summary>Beats for generation <paramref name="g"/> until the node's part of the job ends (null) or the coordinator regroups (its word).</summary>
    private async Task<ControlReply?> BeatLoopAsync(NodeGeneration g, CancellationToken cancellationToken)
    {
        Task<ControlReply> regrouped;
        lock (_gate) regrouped = _regroup.Task;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watcher = WatchDirectivesAsync(g.Assignment.Generation, stop.Token);
        var tokens = g.Assignment.Slots.ToDictionary(s => s.LocalRank, s => s.FencingToken);
        var lastOk = _time.GetTimestamp();
        var lastBeat = lastOk - (long)(_options.BeatInterval.TotalSeconds * _time.TimestampFrequency); // first beat at once
        try
        {
            while (!_ended.Task.IsCompleted && !cancellationToken.IsCancellationRequested)
            {
                if (regrouped.IsCompleted) return regrouped.Result;
                var due = _options.BeatInterval - _time.GetElapsedTime(lastBeat);
                if (due > TimeSpan.Zero)
                {
                    using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    var urgent = _urgent.WaitAsync(due, wake.Token);
                    var first = await Task.WhenAny(urgent, _ended.Task, regrouped).ConfigureAwait(false);
                    if (first != urgent)
                    {
                        await wake.CancelAsync().ConfigureAwait(false);
                        try { if (await urgent.ConfigureAwait(false)) _urgent.Release(); } // keep a wake-up it took
                        catch (OperationCanceledException) { /* not taken */ }
                        if (first == regrouped) return regrouped.Result;
                        break;
                    }
                    await urgent.ConfigureAwait(false);
                }
                while (_urgent.CurrentCount > 0) _urgent.Wait(0); // everything queued so far goes in this beat
                var (beat, inflight) = Build(g.Assignment.Generation, tokens);
                lastBeat = _time.GetTimestamp();
                if (inflight.Attached == 0) break; // every rank is gone: their exits end the job or the node
                if (beat.Ranks.Count == 0) continue; // every rank silent: nobody is renewed, their leases run out
                NodeBeatReply reply;
                try
                {
                    reply = await job.Beat(beat).WaitAsync(_options.CoordinatorLostAfter, _time, cancellationToken).ConfigureAwait(false);
                    lastOk = _time.GetTimestamp();
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    LogBeatFailed(jobId, g.Assignment.Generation, _options.NodeId, e.Message);
                    Requeue(inflight);
                    // An error from the job grain itself (its state write failed while Redis is away) is an answer: the
                    // coordinator lives and its leases decide. Only silence (no reply, no silo) counts towards giving up.
                    if (!IsSilence(e)) lastOk = _time.GetTimestamp();
                    var silent = _time.GetElapsedTime(lastOk);
                    if (silent > _options.CoordinatorLostAfter)
                    {
                        await EndAsync(new ControlReply(ControlDirective.Abort, $"no answer from the coordinator for {silent.TotalSeconds:0} s (last: {e.Message})", null)).ConfigureAwait(false);
                        break;
                    }
                    await Task.Delay(RetryPause, _time, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                Route(reply, inflight);
                if (reply.SendEndpoints && !inflight.Announced)
                {
                    _announce = true;
                    _urgent.Release();
                }
                if (reply.Directive == ControlDirective.Regroup) return new ControlReply(reply.Directive, reply.Reason, null, AtStepBoundary: reply.AtStepBoundary, Released: reply.Released);
                if (reply.Directive != ControlDirective.Continue) await EndAsync(new ControlReply(reply.Directive, reply.Reason, null)).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the agent stops
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try { await watcher.ConfigureAwait(false); }
            catch (OperationCanceledException) { /* stopped */ }
        }
        return null;
    }

    /// <summary>Holds <see cref="IJobGrain.WaitForDirective"/> so an abort reaches this node within one call latency.</summary>
    private async Task WatchDirectivesAsync(long generation, CancellationToken cancellationToken)
    {
        while (!_ended.Task.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                var directive = await job.WaitForDirective(_options.NodeId, generation, DirectivePoll).WaitAsync(cancellationToken).ConfigureAwait(false);
                if (directive.Directive == ControlDirective.Regroup)
                {
                    SignalRegroup(directive, generation);
                    return;
                }
                if (directive.Directive != ControlDirective.Continue) await EndAsync(directive).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await Task.Delay(RetryPause, _time, cancellationToken).ConfigureAwait(false); // the beat loop reports and judges failures
            }
        }
    }

    private (NodeBeat Beat, Inflight Inflight) Build(long generation, Dictionary<int, long> tokens)
    {
        var entries = new List<RankBeat>(_ranks.Length);
        var inflight = new Inflight();
        var now = _time.GetTimestamp();
        var announce = _announce;
        _announce = false;
        inflight.Announced = announce;
        lock (_gate)
        {
            for (var i = 0; i < _ranks.Length; i++)
            {
                var r = _ranks[i]!;
                if (!r.Gone && _spares.Contains(i)) inflight.Attached++; // a spare keeps the node's voice on (a loss takes it in)
                if (r.Gone || !tokens.ContainsKey(i)) continue; // gone, or not in this generation
                inflight.Attached++;
                if (_time.GetElapsedTime(r.LastHeard, now) > _options.RankSilentAfter) continue;
                ProgressReport? progress = null;
                if (r.Requests.TryDequeue(out var request))
                {
                    progress = request.Item;
                    inflight.Requests[i] = request;
                }
                else if (r.Latest is { } latest && !ReferenceEquals(latest, r.Sent))
                {
                    progress = latest;
                }
                r.Sent = r.Latest;
                CheckpointVote? vote = null;
                if (r.Votes.TryDequeue(out var ballot))
                {
                    vote = ballot.Item;
                    inflight.Votes[i] = ballot;
                }
                if (r.Requests.Count > 0 || r.Votes.Count > 0) _urgent.Release(); // one of each per rank per beat: beat again
                entries.Add(new RankBeat(i, tokens[i], progress, vote, announce ? new LocalEndpoint(i, r.Port, r.Pid) : null));
            }
        }
        return (new NodeBeat(_options.NodeId, generation, entries), inflight);
    }

    private void Requeue(Inflight inflight)
    {
        lock (_gate)
        {
            foreach (var (i, request) in inflight.Requests) Requeue(_ranks[i]!.Requests, request);
            foreach (var (i, vote) in inflight.Votes) Requeue(_ranks[i]!.Votes, vote);
            foreach (var r in _ranks) r!.Sent = null; // resend the newest progress
        }
        if (inflight.Announced) _announce = true;
        if (inflight.Requests.Count + inflight.Votes.Count > 0 || inflight.Announced) _urgent.Release();
    }

    private static void Requeue<T>(Queue<Pending<T>> queue, Pending<T> first)
    {
        var rest = queue.ToArray();
        queue.Clear();
        queue.Enqueue(first);
        foreach (var item in rest) queue.Enqueue(item);
    }

    /// <summary>True when <paramref name="e"/> means the coordinator did not answer (a timeout, no silo to take the call).</summary>
    private static bool IsSilence(Exception e) =>
        e is TimeoutException or Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException
        || e.InnerException is TimeoutException or Orleans.Runtime.SiloUnavailableException or Orleans.Runtime.OrleansMessageRejectionException;

    private static void Route(NodeBeatReply reply, Inflight inflight)
    {
        var fallback = reply.Directive == ControlDirective.Continue ? ControlReply.Continue
            : new ControlReply(reply.Directive, reply.Reason, null, AtStepBoundary: reply.AtStepBoundary, Released: reply.Released);
        var byRank = new Dictionary<int, ControlReply>();
        foreach (var answer in reply.Replies)
        {
            if (answer.Vote && inflight.Votes.Remove(answer.LocalRank, out var vote)) vote.Reply.TrySetResult(answer.Reply);
            else if (!answer.Vote && inflight.Requests.Remove(answer.LocalRank, out var request)) request.Reply.TrySetResult(answer.Reply);
            if (answer.Reply.Directive != ControlDirective.Continue) byRank[answer.LocalRank] = answer.Reply;
        }
        foreach (var (i, left) in inflight.Requests) left.Reply.TrySetResult(byRank.GetValueOrDefault(i, fallback));
        foreach (var (i, left) in inflight.Votes) left.Reply.TrySetResult(byRank.GetValueOrDefault(i, fallback));
    }

    private sealed class Inflight
    {
        /// <summary>Ranks whose channel is still open (listed in the beat or silent).</summary>
        public int Attached { get; set; }
        /// <summary>The beat carried the ranks' endpoints (the coordinator asked for them).</summary>
        public bool Announced { get; set; }
        public Dictionary<int, Pending<ProgressReport>> Requests { get; } = [];
        public Dictionary<int, Pending<CheckpointVote>> Votes { get; } = [];
    }
}
