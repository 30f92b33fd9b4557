using Cluster.Agent.Local;
using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Rank;

/// <summary>
/// A rank's conversation with the coordinator after the assignment, through its node agent (<see cref="AgentLink"/>): a
/// background loop sends the newest progress (or a ping) every interval, synchronous requests at checkpoint boundaries,
/// checkpoint votes. A directive the agent pushes (abort, fenced, regroup), an abort, fenced or regroup reply, or the
/// channel closing trips <see cref="Aborted"/>; after a regroup (<see cref="Regrouped"/>) the rank goes on in the next
/// generation, after anything else it stops.
/// </summary>
internal sealed class RankSession : IAsyncDisposable
{
    private readonly AgentLink _link;
    private readonly RankAssignment _assignment;
    private readonly TimeSpan _interval;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _stop = new();
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
        var reply = await _link.RequestAsync(report, cancellationToken).ConfigureAwait(false);
        Handle(reply);
        return reply;
    }

    /// <summary>Votes for a checkpoint.</summary>
    public async Task AckAsync(long checkpointId, int epoch, long cursor, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
    {
        var reply = await _link.VoteAsync(new CheckpointVote(checkpointId, epoch, cursor, files, error), cancellationToken).ConfigureAwait(false);
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
                        await _link.PostAsync(latest, cancellationToken).ConfigureAwait(false);
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
        AbortReason = $"{reply.Directive}: {reply.Reason}";
        Regrouped = reply.Directive == ControlDirective.Regroup;
        _log($"coordinator says {AbortReason} (at {_time.GetUtcNow():O})");
        try { OnAbort?.Invoke(AbortReason); }
        catch (Exception e) { _log($"abort hook failed: {e.Message}"); }
        _abort.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { /* stopped */ }
        _stop.Dispose();
        _abort.Dispose();
    }
}
