using Cluster.Abstractions;
using Cluster.Agent.Client;
using Cluster.Agent.Grains;
using Cluster.Agent.Local;
using Cluster.Collectives;
using Cluster.Coordinator.Contracts;
using Cluster.Training.Data;
using Cluster.Training.Distributed;
using Cluster.Training.Engine;

namespace Cluster.Agent.Rank;

/// <summary>
/// One rank of a coordinated job (`cluster worker --coordinated`): binds its collective listener, attaches to its node
/// agent over the local channel with a proof of the job secret (the agent joins the rendezvous for the whole node and
/// speaks for its ranks to the job grain), builds the communicator from the assigned peers, trains with background
/// progress, takes part in checkpoint consensus and exits non-zero when told to stop. It still opens an Orleans client to
/// read the spec from the job directory and, on rank 0, to feed the job report.
/// </summary>
public sealed class CoordinatedRank(RankSettings settings, TextWriter output, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _writeLock = new();

    /// <summary>Runs the rank; returns a <see cref="RankExitCodes"/> value.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // Idle OpenMP threads sleep instead of spinning on cores the communicator and the other ranks need (a user's own
        // OMP_WAIT_POLICY wins); must precede the first TorchSharp call.
        global::Cluster.Training.Engine.OpenMpWaitPolicy.Apply("PASSIVE");
        TorchSharp.torch.set_num_threads(settings.Threads);
        await using var client = await CoordinatorClient.ConnectStaticAsync(settings.Gateways, settings.ClusterId, settings.ServiceId,
            TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        var summary = await client.Grains.GetGrain<IJobDirectoryGrain>(JobDirectory.Key).Get(settings.JobId).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (summary is null)
        {
            Log($"job '{settings.JobId}' is not in the job directory");
            return RankExitCodes.InvalidInput;
        }
        JobSpec spec;
        try { spec = JobSpecLoader.Parse(summary.SpecYaml, $"job {settings.JobId}"); }
        catch (JobSpecException e)
        {
            Log(e.Message);
            return RankExitCodes.InvalidInput;
        }

        using var listener = CommunicatorListener.Bind("0.0.0.0", 0);
        AgentLink link;
        RankAssignment assignment;
        try
        {
            link = await AgentLink.ConnectAsync(settings.AgentSocket, settings.JobId, settings.NodeId, settings.LocalRank, settings.JobSecretBase64,
                listener.Port, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            Log($"not admitted: {e.Message}");
            return RankExitCodes.Refused;
        }
        await using var _ = link.ConfigureAwait(false);
        try
        {
            assignment = await link.AssignmentAsync(settings.RendezvousTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            Log($"not admitted: {e.Message}");
            return RankExitCodes.Refused;
        }
        Log($"{settings.MemberId}: rank {assignment.Rank} of {assignment.WorldSize}, generation {assignment.Generation}, listening on {settings.AdvertiseHost}:{listener.Port}");

        await using var session = new RankSession(link, assignment, settings.HeartbeatInterval, Log);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Aborted);
        try
        {
            return await TrainAsync(client, spec, assignment, listener, session, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (session.Aborted.IsCancellationRequested)
        {
            Log($"rank {assignment.Rank} aborted by the coordinator ({session.AbortReason}); stopped at {e.GetType().Name}");
            return RankExitCodes.Aborted;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log($"rank {assignment.Rank} failed: {e.GetType().Name}: {e.Message}");
            return RankExitCodes.Failure;
        }
    }

    private async Task<int> TrainAsync(CoordinatorClient client, JobSpec spec, RankAssignment assignment, CommunicatorListener listener,
        RankSession session, CancellationToken cancellationToken)
    {
        var peers = assignment.Peers.OrderBy(p => p.Rank).Select(p => new PeerInfo(p.Rank, p.Host, p.Port, p.HostId)).ToList();
        await using var communicator = await Communicator.CreateAsync(new CommunicatorOptions
        {
            JobId = assignment.JobId, Generation = assignment.Generation, Rank = assignment.Rank, Peers = peers,
            Secret = Convert.FromBase64String(assignment.JobSecretBase64),
            CompressFloat32AsBFloat16 = spec.Training.Ddp.CompressBf16,
        }, listener, cancellationToken).ConfigureAwait(false);
        session.OnAbort = reason => communicator.Abort(reason);
        var rank = assignment.Rank;
        var report = client.Grains.GetGrain<IJobReportGrain>(assignment.JobId);

        var data = JobData.Load(spec.Training);
        var stepsPerEpoch = new DistributedSampler(data.Train.Count, new DistributedSamplerOptions { Seed = unchecked((ulong)spec.Training.Seed) },
            assignment.WorldSize, rank).StepsRemaining(SamplerCursor.Start, spec.Training.BatchSize);
        stepsPerEpoch = (stepsPerEpoch + spec.Training.GradAccumulation - 1) / spec.Training.GradAccumulation;
        var totalSteps = (long)stepsPerEpoch * spec.Training.Epochs;
        if (spec.Training.MaxSteps > 0) totalSteps = Math.Min(totalSteps, spec.Training.MaxSteps);
        if (rank == 0)
        {
            Log($"train {data.Train.Count} / test {data.Test.Count} samples of {data.Shape}, {data.Classes} classes, model {spec.Training.Model.Type}, {totalSteps} steps");
            Log("glibc malloc: " + global::Cluster.Training.Engine.RankMallocSettings.InEffect());
            await report.ReportPlan(totalSteps, spec.Training.Epochs).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var samplesPerStep = (double)spec.Training.BatchSize * spec.Training.GradAccumulation * assignment.WorldSize;
        var coordinated = new CoordinatedSteps(session, assignment, samplesPerStep, _time, Log);
        var options = new TrainerOptions
        {
            Log = rank == 0 ? line => { Log(line); if (EpochLine.TryParse(line) is { } epoch) _ = report.ReportEpoch(epoch); } : null,
            Ddp = new DdpOptions
            {
                BucketBytes = (int)(spec.Training.Ddp.BucketMb * 1024 * 1024),
                SyncBatchNormStats = spec.Training.Ddp.SyncBatchNorm,
                GradientsCompressedAsBFloat16 = spec.Training.Ddp.CompressBf16,
            },
            // One checkpoint path: every save (interval, end of epoch, last step) goes through the job grain's two-phase
            // commit into <checkpoint.dir>/<name>/ckpt-N; the restore point is the grain's newest committed checkpoint.
            Checkpoints = string.IsNullOrWhiteSpace(spec.Checkpoint.Dir) ? null : coordinated,
            CheckpointIntervalSteps = spec.Checkpoint.IntervalSteps,
            RestoreFrom = assignment.RestoreFrom,
            TimeProvider = _time,
            StepCompleted = (s, _) => coordinated.OnStepAsync(s.Step, s.Cursor, s.Loss),
        };
        using var trainer = new Trainer(spec.Training, data, communicator, options);
        var result = await trainer.RunAsync(cancellationToken).ConfigureAwait(false);
        await coordinated.FinishAsync(trainer.Step, cancellationToken).ConfigureAwait(false);
        if (rank == 0)
        {
            await report.ReportResult(new JobResult(result.Status, result.Epochs, result.Steps, result.SkippedSteps, result.TrainLoss,
                result.Test?.Accuracy, result.Test?.Loss, result.Test?.MacroF1, result.SamplesPerSecond, result.WallSeconds,
                assignment.WorldSize)).WaitAsync(cancellationToken).ConfigureAwait(false);
            Log($"finished: {result.Status}, {result.Epochs} epoch(s), {result.Steps} steps, test accuracy {result.Test?.Accuracy:F4}");
        }
        return RankExitCodes.Success;
    }

    private void Log(string line)
    {
        lock (_writeLock) output.WriteLine(line);
    }
}
