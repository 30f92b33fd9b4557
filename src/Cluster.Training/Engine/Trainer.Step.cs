using Cluster.Training.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

public sealed partial class Trainer
{
    /// <summary>One epoch from <paramref name="cursor"/>; returns the mean local loss, micro-batches run and whether training must stop.</summary>
    private async Task<(double Loss, long MicroBatches, bool Stop)> TrainEpochAsync(
        DistributedSampler sampler, DataLoaderOptions loaderOptions, SamplerCursor cursor, CancellationToken cancellationToken)
    {
        using var loader = new DataLoader(data.Train, sampler, loaderOptions, cursor);
        var model = shadow?.Model ?? master;
        var computeType = shadow is null ? ScalarType.Float32 : ScalarType.BFloat16;
        double lossSum = 0;
        long micro = 0, finite = 0;
        var pending = 0;
        double stepLoss = 0;
        var stepFinite = 0;
        var clock = options.TimeProvider;
        long stepStart = 0;
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
                var last = pending == spec.GradAccumulation - 1 || loader.Consumed == loader.Steps;
                manual_seed(MixSeed(spec.Seed, communicator.Rank, step * spec.GradAccumulation + pending)); // dropout: reproducible on resume
                using (last ? null : ddp.NoSync())
                {
                    using var x = batch.Images.to_type(computeType);
                    using var output = model.forward(x);
                    using var logits = output.to_type(ScalarType.Float32);
                    using var loss = nn.functional.cross_entropy(logits, batch.Labels);
                    var value = loss.item<float>();
                    if (float.IsFinite(value)) { lossSum += value; finite++; stepLoss += value; stepFinite++; }
                    using var scaled = loss / spec.GradAccumulation;
                    scaled.backward();
                }
                timings.Compute += clock.GetElapsedTime(computeStart);
                timings.MicroBatches++;
                micro++;
                pending++;
                if (!last) continue;
                pending = 0;
                var before = step;
                var synced = await OptimizerStepAsync(cancellationToken).ConfigureAwait(false);
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
                stepLoss = 0;
                stepFinite = 0;
                var endOfRun = spec.MaxSteps > 0 && step >= spec.MaxSteps;
                // An interval step that ends the epoch is saved by the end-of-epoch save instead (with the next epoch's cursor).
                if (!endOfRun && options.CheckpointIntervalSteps > 0 && step % options.CheckpointIntervalSteps == 0 && loader.Consumed < loader.Steps)
                    await SaveCheckpointAsync(batch.CursorAfter, final: false, cancellationToken).ConfigureAwait(false);
                if (endOfRun)
                {
                    await SaveCheckpointAsync(batch.CursorAfter, final: true, cancellationToken).ConfigureAwait(false);
                    return (finite == 0 ? double.NaN : lossSum / finite, micro, true);
                }
            }
        }
        return (finite == 0 ? double.NaN : lossSum / finite, micro, false);
    }

    /// <summary>All-reduce, NaN/Inf guard, clipping, optimizer and schedule step, buffer sync.</summary>
    /// <returns>Whether gradients were all-reduced (benchmarks may skip it).</returns>
    private async Task<bool> OptimizerStepAsync(CancellationToken cancellationToken)
    {
        var clock = options.TimeProvider;
        var start = clock.GetTimestamp();
        shadow?.GradientsToMaster();
        var local = clock.GetElapsedTime(start);
        var block = options.AlternateGradientSyncSteps;
        var sync = block <= 0 || step / block % 2 == 0;
        if (sync)
        {
            var syncStart = clock.GetTimestamp();
            await ddp.SynchronizeGradientsAsync(cancellationToken).ConfigureAwait(false);
            timings.GradientSync += clock.GetElapsedTime(syncStart);
        }
        var optimizerStart = clock.GetTimestamp();
        await StepOptimizerAsync(cancellationToken).ConfigureAwait(false);
        timings.Optimizer += local + clock.GetElapsedTime(optimizerStart);
        return sync;
    }

    /// <summary>NaN/Inf guard, clipping, optimizer and schedule step, buffer sync.</summary>
    private async Task StepOptimizerAsync(CancellationToken cancellationToken)
    {
        // Gradients are identical on every rank after the all-reduce (a NaN anywhere spreads everywhere), so every rank
        // takes the same decision.
        var norm = nn.utils.clip_grad_norm_(trainable, spec.ClipGradNorm > 0 ? spec.ClipGradNorm : 1e30);
        if (!double.IsFinite(norm))
        {
            skippedSteps++;
            optimizer.zero_grad();
            shadow?.Model.zero_grad();
            if (skippedSteps > spec.NanTolerance)
                throw new TrainingDivergedException($"training diverged: {skippedSteps} steps with non-finite loss/gradients exceed nanTolerance {spec.NanTolerance} (last at step {step + 1})");
            Log($"step {step + 1}: non-finite gradient norm ({norm}); step skipped ({skippedSteps} of {spec.NanTolerance} tolerated)");
            return;
        }
        optimizer.step();
        optimizer.zero_grad();
        schedule.OnOptimizerStep();
        step++;
        if (shadow is not null)
        {
            shadow.Model.zero_grad();
            shadow.WeightsFromMaster();
            shadow.BuffersToMaster();
        }
        await ddp.SynchronizeBuffersAsync(cancellationToken).ConfigureAwait(false);
        shadow?.BuffersFromMaster();
    }

    private static long MixSeed(long seed, int rank, long counter)
    {
        unchecked
        {
            var z = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)rank * 0xBF58476D1CE4E5B9UL ^ (ulong)counter * 0x94D049BB133111EBUL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (long)((z ^ (z >> 31)) & 0x7FFF_FFFF_FFFF_FFFFUL);
        }
    }
}
