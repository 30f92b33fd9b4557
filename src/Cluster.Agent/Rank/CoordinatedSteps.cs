using Cluster.Coordinator.Contracts;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;

namespace Cluster.Agent.Rank;

/// <summary>
/// Step-level coordination of a rank: progress to the job grain (posted to the background loop after every step) and
/// the rank's side of the checkpoint two-phase commit (<see cref="ICheckpointCommitter"/>): a synchronous progress report
/// that asks for a checkpoint and returns the grain's directive, and the vote. In a generation formed by recovery
/// (<paramref name="regrouped"/>) the first completed step is reported at once, not with the next beat: it ends the
/// recovery at the coordinator, which times it.
/// </summary>
internal sealed class CoordinatedSteps(RankSession session, RankAssignment assignment, Func<double> samplesPerStep, TimeProvider time, Action<string> log,
    bool regrouped = false) : ICheckpointCommitter
{
    private bool _firstReported = !regrouped;
    private static readonly TimeSpan BusyRetry = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan OpenDeadline = TimeSpan.FromSeconds(30);
    private long _rateStep;
    private long _rateStamp = time.GetTimestamp();
    private double _samplesPerSecond;
    private SamplerCursor _cursor = new(assignment.EpochPlan.Epoch, assignment.EpochPlan.Cursor);
    private double _loss = double.NaN;

    /// <summary>Called by the trainer after every optimizer step (on the training thread).</summary>
    public Task OnStepAsync(long step, SamplerCursor cursor, double loss)
    {
        _cursor = cursor;
        _loss = loss;
        UpdateRate(step);
        var report = RankSession.Progress(step, cursor.Epoch, cursor.GlobalPosition, loss, _samplesPerSecond);
        session.Post(report);
        if (!_firstReported)
        {
            _firstReported = true;
            log($"generation {assignment.Generation}: first step {step} completed at {time.GetUtcNow():O}");
            _ = ReportFirstAsync(report);
        }
        return Task.CompletedTask;
    }

    private async Task ReportFirstAsync(ProgressReport report)
    {
        try { await session.ReportNowAsync(report, CancellationToken.None).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            log($"first step of generation {assignment.Generation} not reported at once: {e.Message}");
        }
    }

    /// <inheritdoc />
    public async Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken)
    {
        var kind = request.Final ? CheckpointRequestKind.Final : CheckpointRequestKind.Save;
        var report = RankSession.Progress(request.Step, request.Cursor.Epoch, request.Cursor.GlobalPosition, _loss, _samplesPerSecond) with { Checkpoint = kind };
        var deadline = time.GetTimestamp() + (long)(OpenDeadline.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            var reply = await session.ReportNowAsync(report, cancellationToken).ConfigureAwait(false);
            if (reply.Checkpoint is { } d && d.Step == request.Step) return new CheckpointTicket(d.CheckpointId, d.Step, d.Directory);
            if (!reply.CheckpointBusy) return null;
            if (time.GetTimestamp() > deadline)
            {
                log($"checkpoint at step {request.Step} skipped: {reply.Reason} after {OpenDeadline.TotalSeconds:0} s");
                return null;
            }
            await Task.Delay(BusyRetry, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken) =>
        session.AckAsync(ticket.CheckpointId, request.Cursor.Epoch, request.Cursor.GlobalPosition, files, error, cancellationToken);

    /// <summary>Final synchronous progress report.</summary>
    public async Task FinishAsync(long step, CancellationToken cancellationToken)
    {
        UpdateRate(step);
        await session.ReportNowAsync(RankSession.Progress(step, _cursor.Epoch, _cursor.GlobalPosition, _loss, _samplesPerSecond), cancellationToken).ConfigureAwait(false);
    }

    private void UpdateRate(long step)
    {
        var now = time.GetTimestamp();
        var seconds = time.GetElapsedTime(_rateStamp, now).TotalSeconds;
        if (seconds < 1.0 && (_samplesPerSecond > 0 || seconds < 0.05)) return;
        if (step > _rateStep) _samplesPerSecond = (step - _rateStep) * samplesPerStep() / seconds;
        _rateStep = step;
        _rateStamp = now;
    }
}
