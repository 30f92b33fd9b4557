using Cluster.Abstractions;
using Cluster.Agent.Grains;
using Cluster.Agent.Local;
using Cluster.Collectives;
using Cluster.Coordinator.Contracts;
using Cluster.Training.Audit;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;

namespace Cluster.Agent.Rank;

/// <summary>
/// What a coordinated rank keeps across generations (its data and its <see cref="Trainer"/>: model, optimizer, schedule,
/// step, sampler cursor) and what it builds per generation (the communicator, the <see cref="CoordinatedSteps"/> of the
/// generation's session). The trainer's checkpoint committer and step hook forward to the current generation's. Rank 0
/// feeds the job report through its node agent (<see cref="AgentLink"/>), which forwards it to the report grain.
/// </summary>
internal sealed class RankGeneration(JobSpec spec, AgentLink link, TimeProvider time, Action<string> log, string processName,
    Func<ICommunicator, ICommunicator>? wrap = null)
    : ICheckpointCommitter, IDisposable
{
    // One audit file per rank process (a replacement writes its own), named after its member and pid.
    private readonly SampleAudit? _audit = spec.Training.Audit is { Length: > 0 } dir
        ? new SampleAudit(dir, string.Concat(processName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')))
        : null;
    private JobData? _data;
    private Trainer? _trainer;
    private CoordinatedSteps? _steps;
    private RankSession? _session;
    private int _rank;
    private long _generation;

    /// <summary>Trains generation <paramref name="assignment"/> to the end of the job; throws when it ends early.</summary>
    public async Task RunAsync(RankAssignment assignment, CommunicatorListener listener, RankSession session, CancellationToken cancellationToken)
    {
        var peers = assignment.Peers.OrderBy(p => p.Rank).Select(p => new PeerInfo(p.Rank, p.Host, p.Port, p.HostId)).ToList();
        await using var created = await Communicator.CreateAsync(new CommunicatorOptions
        {
            JobId = assignment.JobId, Generation = assignment.Generation, Rank = assignment.Rank, Peers = peers,
            Secret = Convert.FromBase64String(assignment.JobSecretBase64),
            CompressFloat32AsBFloat16 = spec.Training.Ddp.CompressBf16,
        }, listener, cancellationToken).ConfigureAwait(false);
        var communicator = wrap?.Invoke(created) ?? created;
        session.OnAbort = reason => communicator.Abort(reason);
        Volatile.Write(ref _session, session);
        Volatile.Write(ref _rank, assignment.Rank);
        Volatile.Write(ref _generation, assignment.Generation);
        var steps = new CoordinatedSteps(session, assignment, () => _trainer?.GlobalBatch ?? 0, time, log, regrouped: _trainer is not null);
        if (_trainer is null)
        {
            _steps = steps;
            _data = JobData.Load(spec.Training);
            if (assignment.Rank == 0) await ReportPlanAsync(assignment, cancellationToken).ConfigureAwait(false);
            _trainer = new Trainer(spec.Training, _data, communicator, Options(assignment));
        }
        else
        {
            // The old generation's save in flight finishes (answered by the regroup) through its own session first.
            await _trainer.RebindAsync(communicator, cancellationToken, assignment.RestoreFrom).ConfigureAwait(false);
            _steps = steps;
        }
        var result = await _trainer.RunAsync(cancellationToken).ConfigureAwait(false);
        await _steps.FinishAsync(_trainer.Step, cancellationToken).ConfigureAwait(false);
        if (assignment.Rank == 0)
        {
            Taken(await link.ReportResultAsync(assignment.Generation, new JobResult(result.Status, result.Epochs, result.Steps, result.SkippedSteps, result.TrainLoss,
                result.Test?.Accuracy, result.Test?.Loss, result.Test?.MacroF1, result.SamplesPerSecond, result.WallSeconds,
                assignment.WorldSize), cancellationToken).ConfigureAwait(false), "result");
            log($"finished: {result.Status}, {result.Epochs} epoch(s), {result.Steps} steps, test accuracy {result.Test?.Accuracy:F4}");
        }
    }

    private async Task ReportPlanAsync(RankAssignment assignment, CancellationToken cancellationToken)
    {
        var data = _data!;
        // The first generation's world is the starting world: its global batch is the default one.
        var t = spec.Training;
        var stepsPerEpoch = new Cluster.Coordinator.Contracts.Data.BatchPlan(t.GlobalBatchAt(assignment.WorldSize, assignment.WorldSize), t.BatchSize,
            assignment.WorldSize).StepsRemaining(0, data.Train.Count);
        var totalSteps = stepsPerEpoch * t.Epochs;
        if (spec.Training.MaxSteps > 0) totalSteps = Math.Min(totalSteps, spec.Training.MaxSteps);
        log($"train {data.Train.Count} / test {data.Test.Count} samples of {data.Shape}, {data.Classes} classes, model {spec.Training.Model.Type}, {totalSteps} steps");
        log("glibc malloc: " + RankMallocSettings.InEffect());
        Taken(await link.ReportPlanAsync(assignment.Generation, totalSteps, spec.Training.Epochs, cancellationToken).ConfigureAwait(false), "plan");
    }

    /// <summary>Throws when the agent answered that the report was not taken (an abort that came first is the session's to handle).</summary>
    private static void Taken(ControlReply reply, string what)
    {
        if (reply is { Directive: ControlDirective.Continue, Reason: { } why })
            throw new InvalidOperationException($"the job report did not take the {what}: {why}");
    }

    /// <summary>An epoch summary for the job report; a failure is logged, training goes on.</summary>
    private async Task ReportEpochAsync(EpochSummary epoch)
    {
        try
        {
            var reply = await link.ReportEpochAsync(Volatile.Read(ref _generation), epoch, CancellationToken.None).ConfigureAwait(false);
            if (reply is { Directive: ControlDirective.Continue, Reason: { } why }) log($"epoch {epoch.Epoch} not reported: {why}");
        }
        catch (Exception e) when (e is TimeoutException or IOException or ObjectDisposedException)
        {
            log($"epoch {epoch.Epoch} not reported: {e.Message}");
        }
    }

    private TrainerOptions Options(RankAssignment assignment) => new()
    {
        // Only the current rank 0 logs and feeds the job report (rank 0 may change with the generation).
        Log = line =>
        {
            if (Volatile.Read(ref _rank) != 0) return;
            log(line);
            if (EpochLine.TryParse(line) is { } epoch) _ = ReportEpochAsync(epoch);
        },
        Ddp = new DdpOptions
        {
            BucketBytes = spec.Training.Ddp.BucketBytes(),
            SyncBatchNormStats = spec.Training.Ddp.SyncBatchNorm,
            GradientsCompressedAsBFloat16 = spec.Training.Ddp.CompressBf16,
        },
        // One checkpoint path: every save (interval, end of epoch, last step) goes through the job grain's two-phase
        // commit into <checkpoint.dir>/<name>/ckpt-N; the restore point is the grain's newest committed checkpoint.
        Checkpoints = string.IsNullOrWhiteSpace(spec.Checkpoint.Dir) ? null : this,
        CheckpointIntervalSteps = spec.Checkpoint.IntervalSteps,
        RestoreFrom = assignment.RestoreFrom,
        TimeProvider = time,
        StepCompleted = (s, _) => _steps!.OnStepAsync(s.Step, s.Cursor, s.Loss),
        // Every step: no update before every rank holds the reduced gradients, and a regroup that admits ranks ends the
        // generation at the same step on every rank.
        StepVote = () => Volatile.Read(ref _session)?.EndAtStepBoundary ?? false,
        Audit = _audit,
    };

    public Task<CheckpointTicket?> OpenAsync(CheckpointRequest request, CancellationToken cancellationToken) => _steps!.OpenAsync(request, cancellationToken);

    public Task AckAsync(CheckpointTicket ticket, CheckpointRequest request, IReadOnlyList<CheckpointFile> files, string? error, CancellationToken cancellationToken) =>
        _steps!.AckAsync(ticket, request, files, error, cancellationToken);

    public void Dispose()
    {
        _trainer?.Dispose();
        _audit?.Dispose();
    }
}
