using Cluster.Collectives;
using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;
using Cluster.Training.Distributed;
using Cluster.Training.Data;
using TorchSharp.Modules;

namespace Cluster.Training.Engine;

/// <summary>Elastic recovery of <see cref="Trainer"/>: from one generation's communicator to the next, the state kept in memory.</summary>
public sealed partial class Trainer
{
    /// <summary>
    /// Takes the communicator of the next generation (elastic recovery) between two calls of <see cref="RunAsync"/>: the
    /// gradient synchronisation, evaluation and checkpoint roles are rebuilt for its rank and world size; model, optimizer
    /// and schedule are kept. Half-accumulated gradients of the step in flight are dropped. <paramref name="newestCommitted"/>:
    /// the newest committed checkpoint (the next generation's assignment names it), the fallback when ranks at the same
    /// step turn out to hold different states.
    /// </summary>
    public async Task RebindAsync(ICommunicator next, CancellationToken cancellationToken, CheckpointManifest? newestCommitted = null)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (newestCommitted is not null) committed = newestCommitted;
        if (!started) throw new InvalidOperationException("RebindAsync is for a trainer whose run was interrupted; call RunAsync first");
        if (checkpoints is not null)
        {
            try { await checkpoints.FlushAsync(cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException) { Log($"checkpoint of the old generation not finished: {e.Message}"); }
            await checkpoints.DisposeAsync().ConfigureAwait(false);
        }
        communicator = next;
        checkpoints = NewCheckpoints(next.Rank);
        evaluator = options.SkipEvaluation ? null : new Evaluator(data.Test, data.Classes, next, data.Mean, data.Std);
        ddp.Dispose();
        ddp = new DistributedDataParallel(master, next, options.Ddp);
        optimizer.zero_grad();
        shadow?.Model.zero_grad();
        if (checkpoints is not null) await checkpoints.PrepareAsync(master, optimizer, cancellationToken).ConfigureAwait(false);
    }

    private TrainerCheckpoint? NewCheckpoints(int rank) => options.Checkpoints is { } committer
        ? new TrainerCheckpoint(committer, rank, () => (OptimizerHelper)OptimizerFactory.Create(spec.Optimizer, trainable), Log)
        : null;

    /// <summary>
    /// Makes every rank of the generation hold one training state before it trains (elastic recovery, a replacement, a
    /// fresh start): the ranks all-gather (step, fingerprint of model, optimizer and counters); the lowest rank at the
    /// newest step is the source, and when any rank's pair differs from the source's (a survivor that did not apply the
    /// step in flight, a replacement that started from a checkpoint or from scratch) the source broadcasts its state and
    /// those ranks load it. Returns where training goes on.
    /// </summary>
    private async Task<TrainerProgress> SyncStateAsync(DistributedSampler sampler, CancellationToken cancellationToken)
    {
        if (communicator.WorldSize == 1)
        {
            if (step > 0) Log($"generation {communicator.Generation}: 1 rank(s) go on from step {step} (epoch {resumeCursor.Epoch}, position {resumeCursor.GlobalPosition})");
            return CurrentProgress(resumeCursor);
        }
        var images = Images();
        // A receiver takes at most a few times its own state's size (a fresh optimizer holds no moments yet).
        var limit = Math.Max(64L << 20, 4 * images.Sum(i => i.Bytes.LongLength));
        var x = await Elastic.ElasticState.ExchangeAsync(communicator, step, images, limit, options.TimeProvider, cancellationToken).ConfigureAwait(false);
        if (x.Diverged is { } atNewest) return await RestoreCommittedAsync(sampler, x.Step, atNewest, x.Fingerprints, cancellationToken).ConfigureAwait(false);
        var world = communicator.WorldSize;
        if (x.Receivers.Count == 0)
        {
            Log($"generation {communicator.Generation}: {world} rank(s) go on from step {step} (epoch {resumeCursor.Epoch}, position {resumeCursor.GlobalPosition}), state verified equal");
            return CurrentProgress(resumeCursor);
        }
        if (x.Received is { } parts) await LoadAsync(parts, sampler, cancellationToken).ConfigureAwait(false);
        var lagging = string.Join(",", x.Receivers.Select(r => $"{r}@{x.Steps[r]}"));
        var bytes = (x.Received ?? images).Sum(p => p.Bytes.LongLength); // the source's state: the same size on every rank
        // The exchange waits for the slowest rank to arrive (a replacement loads its data first); the transfer is the broadcast alone.
        Log(FormattableString.Invariant($"generation {communicator.Generation}: rank(s) {lagging} received the state of step {x.Step} from rank {x.Source}: ") +
            FormattableString.Invariant($"{bytes} bytes in {x.Sent.TotalMilliseconds:F1} ms ({bytes / 1e6 / Math.Max(1e-6, x.Sent.TotalSeconds):F0} MB/s) after {x.Exchanged.TotalMilliseconds:F0} ms of exchanging fingerprints; ") +
            $"{world} rank(s) go on from step {step} (epoch {resumeCursor.Epoch}, position {resumeCursor.GlobalPosition})");
        return CurrentProgress(resumeCursor);
    }

    /// <summary>
    /// Ranks that hold the same step hold different states (a fault no vote explains): none of them is trusted, every rank
    /// loads the newest committed checkpoint (each file checked against the manifest) and the generation goes on from it.
    /// </summary>
    private async Task<TrainerProgress> RestoreCommittedAsync(DistributedSampler sampler, long newest, IReadOnlyList<int> atNewest, IReadOnlyList<long> states,
        CancellationToken cancellationToken)
    {
        var fingerprints = string.Join(", ", atNewest.Select(r => FormattableString.Invariant($"rank {r}: {states[r]:x16}")));
        if (committed is not { } manifest)
            throw new InvalidOperationException($"generation {communicator.Generation}: ranks at step {newest} hold different states ({fingerprints}) and no checkpoint is committed to fall back to");
        var parts = new[] { TrainerCheckpoint.ProgressFile, TrainerCheckpoint.ModelFile, TrainerCheckpoint.OptimizerFile }
            .Select(name => new StateImage(name, CheckpointFiles.ReadVerified(manifest, 0, name)))
            .ToList();
        await LoadAsync(parts, sampler, cancellationToken).ConfigureAwait(false);
        Log($"generation {communicator.Generation}: ranks at step {newest} hold different states ({fingerprints}); every rank restored " +
            $"{CheckpointLineage.Describe(manifest)} from {manifest.Directory} and goes on from step {step} (epoch {resumeCursor.Epoch}, position {resumeCursor.GlobalPosition})");
        return CurrentProgress(resumeCursor);
    }

    /// <summary>This rank's state as named byte images (the parts a checkpoint holds).</summary>
    private List<StateImage> Images()
    {
        shadow?.BuffersToMaster();
        var progress = CurrentProgress(resumeCursor);
        return Elastic.ElasticState.Images(TrainerCheckpoint.LiveParts(master, optimizer, () => progress, _ => { }));
    }

    /// <summary>Loads a state another rank sent: counters and schedule first (they decide the optimizer), then tensors.</summary>
    private async Task LoadAsync(IReadOnlyList<StateImage> parts, DistributedSampler sampler, CancellationToken cancellationToken)
    {
        var byName = parts.ToDictionary(p => p.Name, StringComparer.Ordinal);
        TrainerProgress? received = null;
        ICheckpointPart Part(string name) => TrainerCheckpoint.LiveParts(master, optimizer, () => throw new InvalidOperationException(), p => received = p)
            .Single(p => p.Name == name);
        void Read(string name)
        {
            if (!byName.TryGetValue(name, out var image)) throw new InvalidDataException($"the state transfer holds no part {name}");
            using var stream = new MemoryStream(image.Bytes, writable: false);
            Part(name).Read(stream);
        }
        Read(TrainerCheckpoint.ProgressFile);
        var progress = received!;
        var previousTotal = totalSteps;
        SetClock(sampler.EpochLength, Math.Max(1, progress.ScheduleWorldSize > 0 ? progress.ScheduleWorldSize : progress.WorldSize));
        var unfreeze = spec.Finetune is { UnfreezeAtEpoch: > 0 } ft && progress.Epoch + 1 >= ft.UnfreezeAtEpoch && trainable.Length < master.parameters().Count();
        if (unfreeze)
        {
            Finetuning.UnfreezeAll(master);
            shadow?.MirrorTrainable();
        }
        if (unfreeze || totalSteps != previousTotal) await BuildOptimizationAsync(totalSteps, cancellationToken).ConfigureAwait(false);
        Read(TrainerCheckpoint.ModelFile);
        Read(TrainerCheckpoint.OptimizerFile);
        step = progress.Step;
        skippedSteps = progress.SkippedSteps;
        resumeCursor = new SamplerCursor(progress.Epoch, progress.Position);
        // A fresh schedule, then the received position: this rank's own schedule may already stand somewhere (a replacement
        // that restored a checkpoint first), and Restore counts from where the schedule stands.
        schedule = new LearningRateSchedule(optimizer, spec.Schedule, spec.Optimizer.Lr, totalSteps);
        schedule.Restore(scheduleClock.StepsAt(resumeCursor), progress.PlateauLosses);
        if (progress.BestMetric is { } best) earlyStopping?.Restore(best, progress.EpochsWithoutImprovement);
        started = true;
    }
}
