using System.Security.Cryptography;
using Cluster.Abstractions;
using Cluster.Coordinator.Contracts;
using Cluster.Training.Data;
using Cluster.Training.Engine;

namespace Cluster.Agent.Rank;

/// <summary>
/// Step-level coordination of a rank: progress to the job grain (posted to the background loop on ordinary steps,
/// synchronous on checkpoint-interval steps) and checkpoint consensus (write this rank's files into the directed
/// directory, fsync, ack with name/size/SHA-256).
/// </summary>
internal sealed class CoordinatedSteps(RankSession session, RankAssignment assignment, JobSpec spec, double samplesPerStep,
    TimeProvider time, Action<string> log)
{
    private long _lastStep;
    private long _rateStep;
    private long _rateStamp = time.GetTimestamp();
    private double _samplesPerSecond;
    private SamplerCursor _cursor = new(assignment.EpochPlan.Epoch, assignment.EpochPlan.Cursor);
    private double _loss = double.NaN;

    /// <summary>Called by the trainer after every optimizer step (on the training thread).</summary>
    public async Task OnStepAsync(Trainer trainer, long step, SamplerCursor cursor, double loss, CancellationToken cancellationToken)
    {
        _cursor = cursor;
        _loss = loss;
        UpdateRate(step);
        var report = session.Progress(step, cursor.Epoch, cursor.GlobalPosition, loss, _samplesPerSecond);
        var interval = spec.Checkpoint.IntervalSteps;
        if (interval <= 0 || step % interval != 0 || string.IsNullOrWhiteSpace(spec.Checkpoint.Dir))
        {
            session.Post(report);
            return;
        }
        var reply = await session.ReportNowAsync(report, cancellationToken).ConfigureAwait(false);
        if (reply.Checkpoint is not { } directive || directive.Step != step) return;
        IReadOnlyList<CheckpointFile> files = [];
        string? error = null;
        try
        {
            Directory.CreateDirectory(directive.Directory);
            var names = trainer.WriteCoordinatedCheckpoint(directive.Directory, cursor);
            files = names.Select(n => Describe(directive.Directory, n)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            error = $"{e.GetType().Name}: {e.Message}";
            log($"checkpoint {directive.CheckpointId} not written: {error}");
        }
        await TestHold.BeforeAckAsync(assignment.JobId, directive.CheckpointId, log, cancellationToken).ConfigureAwait(false);
        await session.AckAsync(directive.CheckpointId, cursor.Epoch, cursor.GlobalPosition, files, error, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Final synchronous progress report.</summary>
    public async Task FinishAsync(long step, CancellationToken cancellationToken)
    {
        UpdateRate(step);
        await session.ReportNowAsync(session.Progress(step, _cursor.Epoch, _cursor.GlobalPosition, _loss, _samplesPerSecond), cancellationToken).ConfigureAwait(false);
    }

    private void UpdateRate(long step)
    {
        Volatile.Write(ref _lastStep, step);
        var now = time.GetTimestamp();
        var seconds = time.GetElapsedTime(_rateStamp, now).TotalSeconds;
        if (seconds < 1.0 && (_samplesPerSecond > 0 || seconds < 0.05)) return;
        if (step > _rateStep) _samplesPerSecond = (step - _rateStep) * samplesPerStep / seconds;
        _rateStep = step;
        _rateStamp = now;
    }

    private static CheckpointFile Describe(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        using var stream = File.OpenRead(path);
        return new CheckpointFile(name, stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }
}
