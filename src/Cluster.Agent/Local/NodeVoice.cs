using Cluster.Coordinator.Contracts;
using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Local;

/// <summary>
/// The node's voice to one job grain: once all local ranks have attached it joins the rendezvous for them in one call,
/// fetches the assignment and the peer table once, hands each rank its <see cref="RankAssignment"/>, then makes one
/// <see cref="IJobGrain.Beat"/> per beat interval for all of them (renewals, newest progress, and at once, coalesced,
/// checkpoint requests and votes), and pushes the coordinator's directives (abort, fenced) to every rank. When the
/// coordinator regroups the survivors of a lost rank (<see cref="ControlDirective.Regroup"/>), it tells its ranks at once,
/// fetches the node's part of the next generation and hands it to the ranks that are in it (elastic recovery).
/// The transport to the ranks is <see cref="IRankOutbox"/>; <see cref="LocalChannelServer"/> feeds the socket side.
/// </summary>
public sealed partial class NodeVoice(IJobGrain job, string jobId, string secretBase64, int ranks, NodeVoiceOptions options, ILogger logger, TimeProvider? time = null)
{
    private readonly NodeVoiceOptions _options = options.Validated();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly HashSet<int> _hung = []; // local ranks found hung at a regroup, not yet taken by the agent
    private readonly HashSet<int> _spares = []; // local ranks that wait as spares outside the node's generation
    private readonly RankState?[] _ranks = new RankState?[ranks];
    private readonly TaskCompletionSource _allAttached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _urgent = new(0);
    private readonly TaskCompletionSource<ControlReply> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<ControlReply> _regroup = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private bool _joined;

    /// <summary>
    /// Whether the node sent its join (every local rank attached). A rank that exits before it is restarted by the agent and
    /// takes its place; one that exits after it and before the assignment cannot come back.
    /// </summary>
    public bool Joined
    {
        get { lock (_gate) return _joined; }
    }

    /// <summary>The generation this node is in, once assigned.</summary>
    public NodeGeneration? Generation { get; private set; }

    /// <summary>Completes with the directive that ended this node's part of the job (abort, fenced, coordinator lost, refused).</summary>
    public Task<ControlReply> Ended => _ended.Task;

    /// <summary>
    /// A rank authenticated and attached (its collective listener port and pid). A rank that attaches in the place of one
    /// that is gone, once the node is assigned, is a replacement: the node asks the coordinator to admit it.
    /// </summary>
    public void Attach(int localRank, int port, int pid, IRankOutbox outbox)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(localRank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(localRank, _ranks.Length);
        bool replacement;
        lock (_gate)
        {
            if (_ranks[localRank] is { Gone: false }) throw new InvalidOperationException($"local rank {localRank} of job '{jobId}' is already attached");
            // A rank restarted before the node joined takes its place in the join; after the join it is a replacement.
            replacement = _ranks[localRank] is not null && _joined;
            if (replacement && Generation is null) throw new InvalidOperationException($"local rank {localRank} of job '{jobId}' left after the node joined and before it was assigned; it cannot come back");
            _ranks[localRank] = new RankState(port, pid, outbox, _time.GetTimestamp());
            if (_ranks.All(r => r is { Gone: false })) _allAttached.TrySetResult();
        }
        if (replacement) _ = AdmitAsync(localRank, port, pid, outbox);
    }

    /// <summary>The rank's channel (<paramref name="outbox"/>) closed: it is no longer renewed.</summary>
    public void Detach(int localRank, IRankOutbox outbox)
    {
        lock (_gate)
        {
            if ((uint)localRank < (uint)_ranks.Length && _ranks[localRank] is { } r && ReferenceEquals(r.Outbox, outbox)) r.Gone = true;
        }
    }

    /// <summary>Whether local rank <paramref name="localRank"/> holds rank 0 of <paramref name="generation"/>, this node's current generation.</summary>
    public bool HoldsRankZero(int localRank, long generation) =>
        Generation is { } g && g.Assignment.Generation == generation && g.Assignment.Slots.Any(s => s.LocalRank == localRank && s.Rank == 0);

    /// <summary>The rank is alive (any message counts).</summary>
    public void Heard(int localRank) => With(localRank, r => r.LastHeard = _time.GetTimestamp());

    /// <summary>
    /// Newest progress of a rank, for <paramref name="generation"/> (null: the node's); sent with the next beat. Progress of
    /// another generation than the node's (a rank finishing its last step of the old one) only counts as a sign of life.
    /// </summary>
    public void Post(int localRank, ProgressReport report, long? generation = null) => With(localRank, r =>
    {
        if (IsCurrent(generation)) r.Latest = report;
        r.LastHeard = _time.GetTimestamp();
    });

    /// <summary>
    /// Progress that asks the coordinator something (a checkpoint at this step, the final report); sent at once. Asked for
    /// another generation than the node's, it is answered here: continue, with no checkpoint.
    /// </summary>
    public Task<ControlReply> RequestAsync(int localRank, ProgressReport report, CancellationToken cancellationToken, long? generation = null) =>
        EnqueueAsync(localRank, r => r.Requests, report, generation, cancellationToken);

    /// <summary>A checkpoint vote; sent at once (answered here when it is for another generation than the node's).</summary>
    public Task<ControlReply> VoteAsync(int localRank, CheckpointVote vote, CancellationToken cancellationToken, long? generation = null) =>
        EnqueueAsync(localRank, r => r.Votes, vote, generation, cancellationToken);

    /// <summary>Whether a rank's message for <paramref name="generation"/> (null: unnamed) is for the node's generation (call under the gate).</summary>
    private bool IsCurrent(long? generation) => generation is not { } g || (Generation?.Assignment.Generation ?? 0) == g;

    private ControlReply Stale(long generation) =>
        new(ControlDirective.Continue, $"generation {generation} is over on node {_options.NodeId} (now {Generation?.Assignment.Generation ?? 0})", null);

    /// <summary>Join, wait, hand out the assignments, then beat until the job ends for this node.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Until the node is assigned, a held call tells it if the job fails or is cancelled (its ranks may never attach).
        using var unassigned = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watcher = WatchDirectivesAsync(0, unassigned.Token);
        try
        {
            await RunUnassignedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await unassigned.CancelAsync().ConfigureAwait(false);
            try { await watcher.ConfigureAwait(false); }
            catch (OperationCanceledException) { /* assigned or stopped */ }
        }
        while (Generation is { } generation && !_ended.Task.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            var regroup = await BeatLoopAsync(generation, cancellationToken).ConfigureAwait(false);
            if (regroup is null) break;
            await RegroupAsync(generation, regroup, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RunUnassignedAsync(CancellationToken cancellationToken)
    {
        try
        {
            var attached = await Task.WhenAny(_allAttached.Task, _ended.Task).WaitAsync(_options.RendezvousTimeout, _time, cancellationToken).ConfigureAwait(false);
            if (attached != _allAttached.Task) return; // the job ended first
        }
        catch (TimeoutException)
        {
            var missing = Enumerable.Range(0, _ranks.Length).Where(i => Volatile.Read(ref _ranks[i]) is null);
            await EndAsync(new ControlReply(ControlDirective.Abort, $"local ranks {string.Join(",", missing)} of job '{jobId}' did not attach within {_options.RendezvousTimeout.TotalSeconds:0} s", null)).ConfigureAwait(false);
            return;
        }
        List<LocalEndpoint> endpoints;
        lock (_gate)
        {
            _joined = true;
            endpoints = _ranks.Select((r, i) => new LocalEndpoint(i, r!.Port, r.Pid)).ToList();
        }
        var request = new NodeJoinRequest(_options.NodeId, _options.HostId, _options.AdvertiseHost, endpoints, JoinProof.Compute(secretBase64, jobId, _options.NodeId), Silo: _options.Silo);
        NodeGeneration generation;
        try
        {
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _ = _ended.Task.ContinueWith(_ =>
            {
                try { ended.Cancel(); }
                catch (ObjectDisposedException) { /* assigned before the job ended */ }
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            generation = await RendezvousClient.JoinAndWaitAsync(job, jobId, request, _options.RendezvousTimeout, _time, ended.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_ended.Task.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            return; // the job ended while this node waited
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or FormatException)
        {
            await RefuseAllAsync(e.Message).ConfigureAwait(false);
            return;
        }
        Generation = generation;
        lock (_gate)
        {
            SetSpares(generation.Assignment);
            // The ranks were silent while they waited for the rendezvous; their silence counts from now.
            var now = _time.GetTimestamp();
            foreach (var r in _ranks) r!.LastHeard = now;
        }
        LogAssigned(jobId, generation.Assignment.Generation, _options.NodeId, generation.Assignment.WorldSize);
        foreach (var (rank, i) in _ranks.Select((r, i) => (r!, i)))
            await SafeSendAsync(rank, generation.Assignment.Slots.Any(s => s.LocalRank == i)
                ? new LocalMessage.Assigned(generation.For(i))
                : new LocalMessage.Standby(SpareReason(generation.Assignment)), cancellationToken).ConfigureAwait(false);
    }

    private string SpareReason(NodeAssignment assignment) =>
        $"generation {assignment.Generation} is full ({assignment.WorldSize} ranks, workers.maxRanks); node {_options.NodeId} keeps this rank as a spare";

    /// <summary>The local ranks that wait as spares: those of the node's generation and replacements that found it full.</summary>
    public IReadOnlyList<int> Spares
    {
        get { lock (_gate) return [.. _spares]; }
    }

    /// <summary>The node entered <paramref name="assignment"/>: its spares are the generation's (call under the gate).</summary>
    private void SetSpares(NodeAssignment assignment)
    {
        _spares.Clear();
        _spares.UnionWith(assignment.Spares ?? []);
    }

    /// <summary>
    /// The node's ranks in its generation all exited (the job's end): its spares are released with <paramref name="reason"/>
    /// and exit. Returns how many were told.
    /// </summary>
    public async Task<int> ReleaseSparesAsync(string reason)
    {
        List<RankState> spares;
        lock (_gate) spares = [.. _spares.Select(i => _ranks[i]).OfType<RankState>().Where(r => !r.Gone)];
        foreach (var rank in spares)
            await SafeSendAsync(rank, new LocalMessage.Directive(new ControlReply(ControlDirective.Abort, reason, null)), CancellationToken.None).ConfigureAwait(false);
        return spares.Count;
    }

    /// <summary>Reports that a local rank's process exited (0 = finished); returns the coordinator's answer.</summary>
    public async Task<ControlReply?> ReportExitAsync(int localRank, int exitCode, string? detail, CancellationToken cancellationToken)
    {
        if (Generation is not { } g) return null; // never admitted: nothing to report
        With(localRank, r =>
        {
            r.Gone = true;
            r.Exit = (exitCode, detail); // reported again if the generation it is reported for is over (a regroup)
        });
        var slot = g.Assignment.Slots.FirstOrDefault(s => s.LocalRank == localRank);
        if (slot is null) return null;
        var reply = await job.ReportExit(new ProcessExitReport(MemberIds.Of(_options.NodeId, localRank), g.Assignment.Generation, slot.FencingToken, exitCode, detail))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (reply.Directive == ControlDirective.Regroup) SignalRegroup(reply, g.Assignment.Generation);
        else if (reply.Directive != ControlDirective.Continue) await EndAsync(reply).ConfigureAwait(false);
        return reply;
    }

    private Task<ControlReply> EnqueueAsync<T>(int localRank, Func<RankState, Queue<Pending<T>>> queue, T item, long? generation, CancellationToken cancellationToken)
    {
        if (_ended.Task.IsCompleted) return _ended.Task;
        var pending = new Pending<T>(item, new TaskCompletionSource<ControlReply>(TaskCreationOptions.RunContinuationsAsynchronously));
        var current = true;
        With(localRank, r =>
        {
            // Checked under the gate, where a regroup switches the generation and empties the queues of the old one.
            r.LastHeard = _time.GetTimestamp();
            if (!(current = IsCurrent(generation))) return;
            queue(r).Enqueue(pending);
        });
        if (!current) return Task.FromResult(Stale(generation!.Value));
        _urgent.Release();
        return pending.Reply.Task.WaitAsync(cancellationToken);
    }

    private void With(int localRank, Action<RankState> change)
    {
        lock (_gate)
        {
            if ((uint)localRank >= (uint)_ranks.Length || _ranks[localRank] is not { } r)
                throw new InvalidOperationException($"local rank {localRank} of job '{jobId}' is not attached");
            change(r);
        }
    }

    private async Task SafeSendAsync(RankState rank, LocalMessage message, CancellationToken cancellationToken)
    {
        try { await rank.Outbox.SendAsync(message, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            rank.Gone = true;
        }
    }

    private async Task RefuseAllAsync(string reason)
    {
        foreach (var rank in _ranks.OfType<RankState>()) await SafeSendAsync(rank, new LocalMessage.Refused(reason), CancellationToken.None).ConfigureAwait(false);
        await EndAsync(new ControlReply(ControlDirective.Abort, reason, null)).ConfigureAwait(false);
    }

    private async Task EndAsync(ControlReply directive)
    {
        if (!_ended.TrySetResult(directive)) return;
        LogEnded(jobId, _options.NodeId, directive.Directive, directive.Reason ?? "");
        List<TaskCompletionSource<ControlReply>> waiting;
        lock (_gate)
        {
            waiting = Waiting(_ranks.OfType<RankState>());
        }
        foreach (var w in waiting) w.TrySetResult(directive);
        foreach (var rank in _ranks.OfType<RankState>()) await SafeSendAsync(rank, new LocalMessage.Directive(directive), CancellationToken.None).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId} generation {Generation}: node {NodeId} assigned ({WorldSize} ranks in all)")]
    private partial void LogAssigned(string jobId, long generation, string nodeId, int worldSize);

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} stops its ranks: {Directive} {Reason}")]
    private partial void LogEnded(string jobId, string nodeId, ControlDirective directive, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "job {JobId} generation {Generation}: beat of node {NodeId} failed: {Reason}")]
    private partial void LogBeatFailed(string jobId, long generation, string nodeId, string reason);

    /// <summary>The replies every queued request and vote of <paramref name="ranks"/> waits for (call under the gate).</summary>
    private static List<TaskCompletionSource<ControlReply>> Waiting(IEnumerable<RankState> ranks) =>
        [.. ranks.SelectMany(r => r.Requests.Select(p => p.Reply).Concat(r.Votes.Select(p => p.Reply)))];

    private sealed record Pending<T>(T Item, TaskCompletionSource<ControlReply> Reply);

    private sealed class RankState(int port, int pid, IRankOutbox outbox, long heard)
    {
        public int Port { get; } = port;
        public int Pid { get; } = pid;
        public IRankOutbox Outbox { get; } = outbox;
        public long LastHeard { get; set; } = heard;
        public bool Gone { get; set; }
        public (int Code, string? Detail)? Exit { get; set; }
        public ProgressReport? Latest { get; set; }
        public ProgressReport? Sent { get; set; }
        public Queue<Pending<ProgressReport>> Requests { get; } = new();
        public Queue<Pending<CheckpointVote>> Votes { get; } = new();
    }
}
