using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Rank;

/// <summary>
/// A rank's conversation with its job grain after the assignment: a background loop renews the lease (and sends
/// the newest progress), synchronous progress reports at checkpoint boundaries, checkpoint acks. Any
/// <see cref="ControlDirective.Abort"/> or <see cref="ControlDirective.Fenced"/> reply trips <see cref="Aborted"/>.
/// </summary>
internal sealed class RankSession : IAsyncDisposable
{
    private readonly IJobGrain _job;
    private readonly RankAssignment _assignment;
    private readonly string _memberId;
    private readonly TimeSpan _interval;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TimeSpan _lostAfter;
    private long _lastContact = TimeProvider.System.GetTimestamp();
    private ProgressReport? _latest;
    private ProgressReport? _sent;

    public RankSession(IJobGrain job, RankAssignment assignment, string memberId, TimeSpan interval, Action<string> log)
    {
        _job = job;
        _assignment = assignment;
        _memberId = memberId;
        _interval = interval;
        _log = log;
        // Longer than the coordinator's default lease (15 s): by then the job has failed this rank anyway, so an orphaned
        // rank (its agent or silo gone) stops instead of training forever.
        _lostAfter = TimeSpan.FromSeconds(Math.Max(20, interval.TotalSeconds * 5));
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Cancelled when the coordinator says stop.</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>Why the coordinator said stop.</summary>
    public string? AbortReason { get; private set; }

    /// <summary>Runs when the session is aborted (e.g. aborting the communicator so a blocked collective returns).</summary>
    public Action<string>? OnAbort { get; set; }

    public ProgressReport Progress(long step, int epoch, long cursor, double loss, double samplesPerSecond) =>
        new(_memberId, _assignment.Generation, _assignment.FencingToken, step, epoch, cursor, loss, samplesPerSecond);

    /// <summary>Queues progress for the background loop (no call on the training thread).</summary>
    public void Post(ProgressReport report) => Volatile.Write(ref _latest, report);

    /// <summary>
    /// Reports progress now and returns the reply (checkpoint requests, the final report). It leaves the newest posted
    /// report alone: a checkpoint request runs in the background and may be older than what training posted since.
    /// </summary>
    public async Task<ControlReply> ReportNowAsync(ProgressReport report, CancellationToken cancellationToken)
    {
        var reply = await _job.ReportProgress(report).WaitAsync(cancellationToken).ConfigureAwait(false);
        _sent = report;
        Handle(reply);
        return reply;
    }

    /// <summary>Votes for a checkpoint.</summary>
    public async Task AckAsync(long checkpointId, int epoch, long cursor, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken)
    {
        var reply = await _job.AckCheckpoint(new CheckpointAck(_memberId, _assignment.Generation, _assignment.FencingToken, checkpointId,
            _assignment.Rank, epoch, cursor, files, error)).WaitAsync(cancellationToken).ConfigureAwait(false);
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
                    ControlReply reply;
                    if (latest is not null && !ReferenceEquals(latest, _sent))
                    {
                        reply = await _job.ReportProgress(latest).WaitAsync(cancellationToken).ConfigureAwait(false);
                        _sent = latest;
                    }
                    else
                    {
                        reply = await _job.Heartbeat(new Heartbeat(_memberId, _assignment.Generation, _assignment.FencingToken)).WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    Interlocked.Exchange(ref _lastContact, TimeProvider.System.GetTimestamp());
                    Handle(reply);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _log($"heartbeat to job '{_assignment.JobId}' failed: {e.Message}");
                    var silent = TimeProvider.System.GetElapsedTime(Interlocked.Read(ref _lastContact));
                    if (silent > _lostAfter)
                        Handle(new ControlReply(ControlDirective.Abort, $"no answer from the coordinator for {silent.TotalSeconds:0} s", null));
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
        if (reply.Directive is ControlDirective.Continue || _abort.IsCancellationRequested) return;
        AbortReason = $"{reply.Directive}: {reply.Reason}";
        _log($"coordinator says {AbortReason}");
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
