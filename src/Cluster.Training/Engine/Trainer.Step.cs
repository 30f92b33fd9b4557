using Cluster.Collectives;
using Cluster.Coordinator.Contracts.Data;
using Cluster.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

public sealed partial class Trainer
{
    /// <summary>One epoch from <paramref name="cursor"/>; returns the mean local loss, the samples the steps consumed over all ranks and whether training must stop.</summary>
    private async Task<(double Loss, long Samples, bool Stop)> TrainEpochAsync(
        DistributedSampler sampler, DataLoaderOptions loaderOptions, SamplerCursor cursor, CancellationToken cancellationToken)
    {
        using var loader = new DataLoader(data.Train, sampler, loaderOptions, cursor);
        var model = shadow?.Model ?? master;
        var computeType = shadow is null ? ScalarType.Float32 : ScalarType.BFloat16;
        double lossSum = 0;
        long consumed = 0, finite = 0;
        var pending = 0;
        double stepLoss = 0;
        var stepFinite = 0;
        var weighting = default(StepWeighting);
        var clock = options.TimeProvider;
        long stepStart = 0;
        var stepCursor = cursor; // where the step in flight starts (its first micro-batch's cursor): the audit's key
        while (true)
        {
            var waitStart = clock.GetTimestamp();
            if (pending == 0) stepStart = waitStart;
            var batch = await loader.NextAsync(cancellationToken).ConfigureAwait(false);
            timings.DataWait += clock.GetElapsedTime(waitStart);
            if (batch is null) break;
            using (batch)
            {
                var computeStart = clock.GetTimestamp();
                var last = batch.Plan.LastOfStep;
                if (pending == 0) stepCursor = batch.CursorBefore;
                options.Audit?.Read(communicator.Generation, communicator.Rank, communicator.WorldSize, stepCursor.Epoch, stepCursor.GlobalPosition, batch.Indices.Take(batch.ValidCount));
                if (pending == 0) weighting = StepWeighting.Of(batch.Plan, communicator.WorldSize);
                using (last ? null : ddp.NoSync())
                {
                    var value = MicroBatchPass.ForwardBackward(model, batch, weighting, computeType, spec.Seed);
                    if (float.IsFinite(value)) { lossSum += value; finite++; stepLoss += value; stepFinite++; }
                }
                timings.Compute += clock.GetElapsedTime(computeStart);
                timings.MicroBatches++;
                pending++;
                if (!last) continue;
                pending = 0;
                consumed += batch.Plan.StepReal;
                var before = step;
                var (synced, ending) = await OptimizerStepAsync(stepCursor, batch.CursorAfter, cancellationToken).ConfigureAwait(false);
                if (step > before)
                {
                    var took = clock.GetElapsedTime(stepStart);
                    timings.RecordStep(synced, took);
                    if (options.AlternateGradientSyncSteps > 0 && step % options.AlternateGradientSyncSteps == 0)
                    {
                        // Benchmarks: every block starts with the ranks aligned, outside the timed steps, so the drift
                        // a block without all-reduce builds up is not charged to the next block's first step (PyTorch's
                        // script does the same with dist.barrier()).
                        await communicator.BarrierAsync(cancellationToken).ConfigureAwait(false);
                        timings.BlockBarriers++;
                    }
                    if (step == options.TimingWarmupSteps)
                    {
                        timings.Reset(); // benchmarks: the first steps (allocator, caches, connections) are not typical
                        timingSince = clock.GetTimestamp();
                    }
                }
                if (step > before && options.StepCompleted is { } hook)
                    await hook(new TrainerStep(step, batch.CursorAfter, stepFinite == 0 ? double.NaN : stepLoss / stepFinite), cancellationToken).ConfigureAwait(false);
                if (ending) throw new GenerationEndedException(communicator.Generation, step);
                stepLoss = 0;
                stepFinite = 0;
                var endOfRun = spec.MaxSteps > 0 && step >= spec.MaxSteps;
                // An interval step that ends the epoch is saved by the end-of-epoch save instead (with the next epoch's cursor).
                if (!endOfRun && options.CheckpointIntervalSteps > 0 && step % options.CheckpointIntervalSteps == 0 && loader.Consumed < loader.Steps)
                    await SaveCheckpointAsync(batch.CursorAfter, final: false, cancellationToken).ConfigureAwait(false);
                if (endOfRun)
                {
                    await SaveCheckpointAsync(batch.CursorAfter, final: true, cancellationToken).ConfigureAwait(false);
                    return (finite == 0 ? double.NaN : lossSum / finite, consumed, true);
                }
            }
        }
        return (finite == 0 ? double.NaN : lossSum / finite, consumed, false);
    }

    /// <summary>All-reduce, the step vote, NaN/Inf guard, clipping, optimizer and schedule step, buffer sync.</summary>
    /// <returns>Whether gradients were all-reduced (benchmarks may skip it) and whether the vote ends the generation after this step.</returns>
    private async Task<(bool Synced, bool Ending)> OptimizerStepAsync(SamplerCursor stepCursor, SamplerCursor cursorAfter, CancellationToken cancellationToken)
    {
        var clock = options.TimeProvider;
        var start = clock.GetTimestamp();
        shadow?.GradientsToMaster();
        var local = clock.GetElapsedTime(start);
        var block = options.AlternateGradientSyncSteps;
        var sync = block <= 0 || step / block % 2 == 0;
        // The step vote's ballot rides in the gradient all-reduce (one float after the last bucket's gradients, averaged
        // with them: above 0 when any rank voted to end); a separate all-reduce only when the step made none.
        var ballot = options.StepVote is { } vote && vote() ? 1f : 0f;
        float? tally = null;
        if (sync)
        {
            var syncStart = clock.GetTimestamp();
            tally = await ddp.SynchronizeGradientsAsync(ballot, cancellationToken).ConfigureAwait(false);
            timings.GradientSync += clock.GetElapsedTime(syncStart);
        }
        var ending = false;
        if (options.StepVote is not null)
        {
            if (tally is null && communicator.WorldSize > 1)
            {
                var voteStart = clock.GetTimestamp();
                float[] alone = [ballot];
                await communicator.AllReduceAsync<float>(alone, ReduceOp.Max, cancellationToken).ConfigureAwait(false);
                tally = alone[0];
                timings.StepVote += clock.GetElapsedTime(voteStart);
            }
            ending = (tally ?? ballot) > 0;
        }
        var optimizerStart = clock.GetTimestamp();
        await StepOptimizerAsync(stepCursor, cursorAfter, cancellationToken).ConfigureAwait(false);
        timings.Optimizer += local + clock.GetElapsedTime(optimizerStart);
        return (sync, ending);
    }

    /// <summary>NaN/Inf guard, clipping, optimizer and schedule step, buffer sync.</summary>
    private async Task StepOptimizerAsync(SamplerCursor stepCursor, SamplerCursor cursorAfter, CancellationToken cancellationToken)
    {
        // Gradients are identical on every rank after the all-reduce (a NaN anywhere spreads everywhere), so every rank
        // takes the same decision.
        var norm = nn.utils.clip_grad_norm_(trainable, spec.ClipGradNorm > 0 ? spec.ClipGradNorm : 1e30);
        if (!double.IsFinite(norm))
        {
            skippedSteps++;
            resumeCursor = cursorAfter; // its samples count as consumed
            options.Audit?.Outcome(communicator.Generation, communicator.Rank, stepCursor.Epoch, stepCursor.GlobalPosition, step + 1, applied: false);
            optimizer.zero_grad();
            shadow?.Model.zero_grad();
            if (skippedSteps > spec.NanTolerance)
                throw new TrainingDivergedException($"training diverged: {skippedSteps} steps with non-finite loss/gradients exceed nanTolerance {spec.NanTolerance} (last at step {step + 1})");
            Log($"step {step + 1}: non-finite gradient norm ({norm}); step skipped ({skippedSteps} of {spec.NanTolerance} tolerated)");
            return;
        }
        MicroBatchPass.OptimizerStep(optimizer, learningRateScale);
        optimizer.zero_grad();
        schedule.AdvanceTo(scheduleClock.StepsAt(cursorAfter));
        step++;
        resumeCursor = cursorAfter; // no await since optimizer.step(): an interruption from here on keeps this step
        options.Audit?.Outcome(communicator.Generation, communicator.Rank, stepCursor.Epoch, stepCursor.GlobalPosition, step, applied: true);
        if (shadow is not null)
        {
            shadow.Model.zero_grad();
            shadow.WeightsFromMaster();
            shadow.BuffersToMaster();
        }
        await ddp.SynchronizeBuffersAsync(cancellationToken).ConfigureAwait(false);
        shadow?.BuffersFromMaster();
    }
}
