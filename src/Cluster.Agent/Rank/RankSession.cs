using Cluster.Agent.Local;
using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Rank;

/// <summary>
/// A rank's conversation with the coordinator after the assignment, through its node agent (<see cref="AgentLink"/>): a
/// background loop sends the newest progress (or a ping) every interval, synchronous requests at checkpoint boundaries,
/// checkpoint votes. A directive the agent pushes (abort, fenced, regroup), an abort, fenced or regroup reply, or the
/// channel closing trips <see cref="Aborted"/>; after a regroup (<see cref="Regrouped"/>) the rank goes on in the next
/// generation, after anything else it stops. A regroup at a step boundary (<see cref="EndAtStepBoundary"/>) does not abort:
/// the rank ends the generation by the per-step vote.
/// </summary>
internal sealed class RankSession : IAsyncDisposable
{
    private readonly AgentLink _link;
    private readonly RankAssignment _assignment;
    private readonly TimeSpan _interval;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _spoke = new();
    private readonly Task _loop;
    private ProgressReport? _latest;
    private ProgressReport? _sent;

    private readonly TimeProvider _time;

    public RankSession(AgentLink link, RankAssignment assignment, TimeSpan interval, Action<string> log, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _link = link;
        _assignment = assignment;
        _interval = interval;
        _log = log;
        _loop = Task.Run(() => LoopAsync(_stop.Token));
        _ = link.Directed.ContinueWith(t => Handle(t.Result), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        _ = link.Regrouped(assignment.Generation).ContinueWith(t => Handle(t.Result), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    /// <summary>Cancelled when the coordinator (or the loss of the agent) says stop.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Why the rank was told to stop.</summary>
    public string? AbortReason { get; private set; }

    /// <summary>True when the stop was a regroup: the rank keeps its state and takes the next assignment.</summary>
    public bool Regrouped { get; private set; }

    /// <summary>
    /// The coordinator said regroup at the next step boundary (a rank is admitted): the rank votes to end the generation
    /// after the step in flight (<see cref="Cluster.Training.Engine.TrainerOptions.StepVote"/>); <see cref="Aborted"/>
    /// trips only if no boundary comes within <see cref="BoundaryDeadline"/>.
    /// </summary>
    public bool EndAtStepBoundary { get; private set; }

    /// <summary>The regroup at the step boundary releases this rank's node (drained, or scaled down): it exits 0 after the boundary.</summary>
    public bool Released { get; private set; }

    /// <summary>Cancelled when the coordinator says anything but continue (an abort, fenced, a regroup of either kind).</summary>
    public CancellationToken Spoke => _spoke.Token;

    /// <summary>How long a generation told to end at a step boundary may take to reach one before its collectives are aborted.</summary>
    public static readonly TimeSpan BoundaryDeadline = TimeSpan.FromSeconds(30);

    /// <summary>Runs when the session is aborted (e.g. aborting the communicator so a blocked collective returns).</summary>
    public Action<string>? OnAbort { get; set; }

    public static ProgressReport Progress(long step, int epoch, long cursor, double loss, double samplesPerSecond) =>
        new(step, epoch, cursor, loss, samplesPerSecond);

    /// <summary>Queues progress for the background loop (no call on the training thread).</summary>
    public void Post(ProgressReport report) => Volatile.Write(ref _latest, report);

    /// <summary>
    /// Reports progress now and returns the reply (checkpoint requests, the final report). It leaves the newest posted
    /// report alone: a checkpoint request runs in the background and may be older than what training posted since.
    /// </summary>
    public async Task<ControlReply> ReportNowAsync(ProgressReport report, CancellationToken cancellationToken)
    {
        var reply = await _link.RequestAsync(report, _assignment.Generation, cancellationToken).ConfigureAwait(false);
        Handle(reply);
        return reply;
    }

    /// <summary>Votes for a checkpoint.</summary>
    public async Task AckAsync(long checkpointId, int epoch, long cursor, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
    {
        var reply = await _link.VoteAsync(new CheckpointVote(checkpointId, epoch, cursor, files, error), _assignment.Generation, cancellationToken).ConfigureAwait(false);
        Handle(reply);
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    var latest = Volatile.Read(ref _latest);
                    if (latest is not null && !ReferenceEquals(latest, _sent))
                    {
                        await _link.PostAsync(latest, _assignment.Generation, cancellationToken).ConfigureAwait(false);
                        _sent = latest;
                    }
                    else
                    {
                        await _link.PingAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    Handle(new ControlReply(ControlDirective.Abort, $"local channel to the node agent of job '{_assignment.JobId}' failed: {e.Message}", null));
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // disposed
        }
    }

    private void Handle(ControlReply reply)
    {
        if (reply.Directive is ControlDirective.Continue || _abort.IsCancellationRequested || _stop.IsCancellationRequested) return;
        if (reply is { Directive: ControlDirective.Regroup, AtStepBoundary: true })
        {
            lock (_abort)
            {
                if (EndAtStepBoundary) return;
                EndAtStepBoundary = Regrouped = true;
                Released = reply.Released;
                AbortReason = $"{reply.Directive} at the next step boundary: {reply.Reason}";
            }
            _log($"coordinator says {AbortReason} (at {_time.GetUtcNow():O})");
            _spoke.Cancel();
            _ = AbortIfNoBoundaryAsync();
            return;
        }
        AbortReason = $"{reply.Directive}: {reply.Reason}";
        Regrouped = reply.Directive == ControlDirective.Regroup;
        _log($"coordinator says {AbortReason} (at {_time.GetUtcNow():O})");
        _spoke.Cancel();
        Abort(AbortReason);
    }

    /// <summary>A generation told to end at a step boundary that reaches none in time (a hung step) is aborted.</summary>
    private async Task AbortIfNoBoundaryAsync()
    {
        try { await Task.Delay(BoundaryDeadline, _time, _stop.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; } // the generation ended (the session is disposed)
        if (_abort.IsCancellationRequested) return;
        _log($"no step boundary within {BoundaryDeadline.TotalSeconds:0} s of the regroup: aborting the collectives");
        Abort($"{AbortReason}; no step boundary within {BoundaryDeadline.TotalSeconds:0} s");
    }

    private void Abort(string reason)
    {
        try { OnAbort?.Invoke(reason); }
        catch (Exception e) { _log($"abort hook failed: {e.Message}"); }
        try { _abort.Cancel(); }
        catch (ObjectDisposedException) { /* disposed meanwhile */ }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { /* stopped */ }
        _stop.Dispose();
        _spoke.Dispose();
        _abort.Dispose();
    }
}
