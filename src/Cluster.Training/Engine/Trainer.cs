using Cluster.Abstractions;
using Cluster.Collectives;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using Cluster.Training.Distributed;
using Cluster.Training.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// Runs one rank of a data-parallel training job described by a <see cref="TrainingSpec"/>: per-rank batches from the
/// distributed sampler/loader, forward/backward (fp32, or bf16 compute with fp32 master weights), gradient accumulation
/// (DDP NoSync), gradient all-reduce, NaN/Inf guard, clipping, optimizer + LR schedule step, BatchNorm buffer sync,
/// checkpoints (rank 0), evaluation every epoch with all-reduced metrics, early stopping, fine-tuning (freeze/unfreeze).
/// Every rank must call <see cref="RunAsync"/> with the same spec; all decisions depend only on all-reduced values.
/// Elastic recovery: when a run stops because the generation ended (its communicator aborted), <see cref="RebindAsync"/>
/// gives the trainer the next generation's communicator and <see cref="RunAsync"/> goes on from the state in memory (model,
/// optimizer, schedule, step, the sampler cursor after the last applied step): the step in flight is redone.
/// </summary>
public sealed partial class Trainer : IDisposable
{
    private readonly TrainingSpec spec;
    private readonly JobData data;
    private ICommunicator communicator;
    private readonly TrainerOptions options;
    private readonly nn.Module<Tensor, Tensor> master;
    private readonly Bf16Shadow? shadow;
    private Evaluator? evaluator;
    private readonly EarlyStopping? earlyStopping;
    private TrainerCheckpoint? checkpoints;
    private DistributedDataParallel ddp = null!;
    private optim.Optimizer optimizer = null!;
    private LearningRateSchedule schedule = null!;
    private Parameter[] trainable = [];
    private readonly StepTimings timings;
    private long timingSince;
    private long lastSavedStep = -1;
    private long totalSteps;
    private ScheduleClock scheduleClock = null!;
    private double learningRateScale = 1;
    private long step;
    private int skippedSteps;
    private bool started;
    /// <summary>The newest committed checkpoint this rank was told of: the fallback when the survivors' states disagree.</summary>
    private Cluster.Coordinator.Contracts.CheckpointManifest? committed;
    private SamplerCursor resumeCursor = SamplerCursor.Start;

    public Trainer(TrainingSpec spec, JobData data, ICommunicator communicator, TrainerOptions? options = null)
    {
        this.spec = spec ?? throw new ArgumentNullException(nameof(spec));
        this.data = data ?? throw new ArgumentNullException(nameof(data));
        this.communicator = communicator ?? throw new ArgumentNullException(nameof(communicator));
        this.options = options ?? new TrainerOptions();
        timings = new StepTimings(keepStepSamples: this.options.AlternateGradientSyncSteps > 0);
        checkpoints = NewCheckpoints(communicator.Rank);
        var s = data.Shape;
        manual_seed(spec.Seed);
        master = ModelFactory.Create(spec.Model, [s.Channels, s.Height, s.Width], data.Classes);
        if (spec.Finetune is { } ft)
        {
            var loaded = Finetuning.LoadPretrained(master, ft.From, ft.ReplaceHead);
            var frozen = Finetuning.Freeze(master, ft.Freeze);
            Log($"fine-tuning from {ft.From}: loaded {loaded.Count} tensors, froze {frozen} parameters{(ft.ReplaceHead ? ", new head" : "")}");
        }
        if (spec.Precision == "bf16")
        {
            shadow = new Bf16Shadow(master, ModelFactory.Create(spec.Model, [s.Channels, s.Height, s.Width], data.Classes));
            shadow.MirrorTrainable();
        }
        master.train();
        shadow?.Model.train();
        if (!this.options.SkipEvaluation) evaluator = new Evaluator(data.Test, data.Classes, communicator, data.Mean, data.Std);
        if (spec.EarlyStopping is { } es) earlyStopping = new EarlyStopping(es);
    }

    /// <summary>Samples per optimizer step over all ranks in the current generation (known once <see cref="RunAsync"/> started).</summary>
    public int GlobalBatch => scheduleClock is null ? 0 : spec.GlobalBatchAt(communicator.WorldSize, scheduleClock.ReferenceWorld);

    /// <summary>The fp32 (master) model: the one evaluated, checkpointed and all-reduced.</summary>
    public nn.Module<Tensor, Tensor> Model => master;
    public long Step => step;
    /// <summary>The learning rate the next optimizer step uses.</summary>
    public double LearningRate => schedule.CurrentLr;
    /// <summary>Where this rank's training time went so far.</summary>
    public StepTimings Timings => timings;

    /// <summary>
    /// Trains to the end of the job, from the restore point on the first call; on a later call (after
    /// <see cref="RebindAsync"/>) from the state in memory.
    /// </summary>
    public async Task<TrainingResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = options.TimeProvider;
        var runStart = clock.GetTimestamp();
        var world = communicator.WorldSize;
        var sampler = new DistributedSampler(data.Train.Count, new DistributedSamplerOptions { Seed = unchecked((ulong)spec.Seed) }, world, communicator.Rank);
        if (!started)
        {
            var restored = await StartAsync(sampler, world, cancellationToken).ConfigureAwait(false);
            // From here on the state is in memory: a generation that ends even before the first step is resumed from it.
            started = true;
            resumeCursor = new SamplerCursor(restored.Epoch, restored.Position);
        }
        var progress = await SyncStateAsync(sampler, cancellationToken).ConfigureAwait(false);
        // The global batch of this generation (constant, or with per-rank scaling batch × accumulation × world) and the
        // learning-rate factor (per-rank scaling: linear in the world size); a received state may have set the clock.
        learningRateScale = scheduleClock.LearningRateScale(spec, world);
        var loaderOptions = new DataLoaderOptions
        {
            BatchSize = spec.BatchSize, GlobalBatch = GlobalBatch, Workers = options.LoaderWorkers, Seed = unchecked((ulong)spec.Seed), Transforms = data.TrainTransforms,
        };
        await ddp.InitializeAsync(cancellationToken).ConfigureAwait(false);
        shadow?.WeightsFromMaster();
        shadow?.BuffersFromMaster();
        return await TrainAsync(sampler, loaderOptions, progress, runStart, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The global batch, the schedule clock and the total steps of a job that started with <paramref name="scheduleWorld"/>
    /// ranks (from the spec, and from a restored or received state's progress).
    /// </summary>
    private void SetClock(int epochLength, int scheduleWorld)
    {
        // A reference step is one global batch at the starting world (per-rank scaling: that world's batch).
        scheduleClock = ScheduleClock.Of(spec, epochLength, scheduleWorld);
        totalSteps = scheduleClock.TotalSteps(spec);
    }

    /// <summary>The first run: schedule clock, optimizer, restore from the committed checkpoint.</summary>
    private async Task<TrainerProgress> StartAsync(DistributedSampler sampler, int world, CancellationToken cancellationToken)
    {
        var resumeFrom = options.RestoreFrom;
        committed ??= resumeFrom;
        var saved = resumeFrom is null ? null : TrainerCheckpoint.PeekProgress(resumeFrom);
        // The schedule counts reference steps of the world size the job started with, kept across resumes at other sizes.
        var scheduleWorld = saved is null ? world : saved.ScheduleWorldSize > 0 ? saved.ScheduleWorldSize : Math.Max(1, saved.WorldSize);
        SetClock(sampler.EpochLength, scheduleWorld);

        var progress = new TrainerProgress { WorldSize = world, ScheduleWorldSize = scheduleWorld };
        // The frozen set (and so the optimizer's parameter list) depends on the resumed epoch.
        if (spec.Finetune is { UnfreezeAtEpoch: > 0 } ft0 && saved is not null && saved.Epoch + 1 >= ft0.UnfreezeAtEpoch)
        {
            Finetuning.UnfreezeAll(master);
            shadow?.MirrorTrainable();
        }
        await BuildOptimizationAsync(totalSteps, cancellationToken).ConfigureAwait(false);
        if (resumeFrom is not null)
        {
            progress = TrainerCheckpoint.Load(resumeFrom, master, optimizer);
            step = progress.Step;
            skippedSteps = progress.SkippedSteps;
            schedule.Restore(scheduleClock.StepsAt(new SamplerCursor(progress.Epoch, progress.Position)), progress.PlateauLosses);
            if (progress.BestMetric is { } best) earlyStopping?.Restore(best, progress.EpochsWithoutImprovement);
            Log($"resumed from {CheckpointLineage.Describe(resumeFrom)} in {resumeFrom.Directory}");
        }
        return progress;
    }

    private async Task<TrainingResult> TrainAsync(DistributedSampler sampler, DataLoaderOptions loaderOptions, TrainerProgress progress, long runStart,
        CancellationToken cancellationToken)
    {
        var clock = options.TimeProvider;
        var world = communicator.WorldSize;
        EvaluationResult? test = null;
        double trainLoss = double.NaN, trainSeconds = 0;
        long samples = 0;
        var epochsRun = progress.Epoch;
        var stoppedEarly = false;
        var stop = spec.MaxSteps > 0 && step >= spec.MaxSteps;
        for (var epoch = progress.Epoch; epoch < spec.Epochs && !stop; epoch++)
        {
            if (spec.Finetune is { UnfreezeAtEpoch: > 0 } ft && epoch + 1 == ft.UnfreezeAtEpoch && trainable.Length < master.parameters().Count())
            {
                Finetuning.UnfreezeAll(master);
                shadow?.MirrorTrainable();
                var seen = schedule.ObservedLosses.ToArray();
                var at = schedule.Steps;
                await BuildOptimizationAsync(totalSteps, cancellationToken).ConfigureAwait(false);
                schedule.Restore(at, seen);
                Log($"epoch {epoch + 1}: unfroze all parameters, new optimizer");
            }
            var epochStart = timingSince = clock.GetTimestamp();
            var cursor = new SamplerCursor(epoch, epoch == progress.Epoch ? progress.Position : 0);
            var (loss, consumed, stopped) = await TrainEpochAsync(sampler, loaderOptions, cursor, cancellationToken).ConfigureAwait(false);
            stop = stopped;
            var epochTrainSeconds = clock.GetElapsedTime(epochStart).TotalSeconds;
            trainSeconds += epochTrainSeconds;
            timings.Train += clock.GetElapsedTime(timingSince);
            samples += consumed;
            trainLoss = await AverageAsync(loss, cancellationToken).ConfigureAwait(false);
            epochsRun = epoch + 1;
            if (evaluator is not null)
            {
                shadow?.BuffersToMaster();
                test = await evaluator.EvaluateAsync(master, ScalarType.Float32, cancellationToken).ConfigureAwait(false);
                schedule.OnEpochEnd(test.Loss);
                Log($"epoch {epoch + 1}/{spec.Epochs}: step {step}, train_loss {trainLoss:F4}, test_loss {test.Loss:F4}, test_accuracy {test.Accuracy:F4}, " +
                    $"macro_f1 {test.MacroF1:F4}, lr {schedule.CurrentLr:G4}, {clock.GetElapsedTime(epochStart).TotalSeconds:F1} s (training {epochTrainSeconds:F1} s)");
                if (earlyStopping is not null && !earlyStopping.Observe(earlyStopping.Pick(test)) && earlyStopping.ShouldStop)
                {
                    Log($"early stopping: {spec.EarlyStopping!.Metric} did not improve for {spec.EarlyStopping.Patience} epochs (best {earlyStopping.Best:F4})");
                    stoppedEarly = stop = true;
                }
            }
            if (!stopped) await SaveCheckpointAsync(new SamplerCursor(epoch + 1, 0), final: stop || epoch + 1 == spec.Epochs, cancellationToken).ConfigureAwait(false);
        }
        if (test is null && evaluator is not null) // resumed from a checkpoint of an already finished job: report its quality
        {
            shadow?.BuffersToMaster();
            test = await evaluator.EvaluateAsync(master, ScalarType.Float32, cancellationToken).ConfigureAwait(false);
        }
        if (checkpoints is not null) await checkpoints.FlushAsync(cancellationToken).ConfigureAwait(false); // the last vote is delivered before the rank exits
        Log(FormattableString.Invariant($"timings (rank {communicator.Rank}): {timings.StepMs:F1} ms per step = data wait {timings.DataWaitMsPerStep:F2} ") +
            FormattableString.Invariant($"({timings.DataWaitFraction:P1}), forward+backward {timings.ComputeMsPerStep:F1}, gradient all-reduce {timings.GradientSyncMsPerStep:F2} ") +
            FormattableString.Invariant($"({timings.GradientSyncFraction:P1}), optimizer {timings.OptimizerMsPerStep:F2}; checkpoint stall {timings.CheckpointStallMsPerSave:F1} ms per save ") +
            FormattableString.Invariant($"(max {timings.MaxCheckpointStall.TotalMilliseconds:F1} ms, {timings.CheckpointSaves} saves)"));
        return new TrainingResult(stoppedEarly ? "early_stopped" : "completed", epochsRun, step, skippedSteps, stoppedEarly, trainLoss, test,
            trainSeconds > 0 ? samples / trainSeconds : 0, clock.GetElapsedTime(runStart).TotalSeconds, timings);
    }

    public void Dispose()
    {
        checkpoints?.DisposeAsync().AsTask().Wait(TimeSpan.FromMinutes(1));
        ddp?.Dispose();
        optimizer?.Dispose();
        shadow?.Dispose();
        master.Dispose();
    }

    private async Task BuildOptimizationAsync(long totalSteps, CancellationToken cancellationToken)
    {
        ddp?.Dispose();
        optimizer?.Dispose();
        trainable = master.parameters().Where(p => p.requires_grad).ToArray();
        optimizer = OptimizerFactory.Create(spec.Optimizer, trainable);
        schedule = new LearningRateSchedule(optimizer, spec.Schedule, spec.Optimizer.Lr, totalSteps);
        ddp = new DistributedDataParallel(master, communicator, options.Ddp);
        // Rank 0 writes checkpoints: pay the first save's one-time costs now, not inside a training step.
        if (checkpoints is not null) await checkpoints.PrepareAsync(master, optimizer, cancellationToken).ConfigureAwait(false);
    }

    private async Task<double> AverageAsync(double value, CancellationToken cancellationToken)
    {
        if (communicator.WorldSize == 1) return value;
        double[] buffer = [value];
        await communicator.AllReduceAsync<double>(buffer, ReduceOp.Average, cancellationToken).ConfigureAwait(false);
        return buffer[0];
    }

    /// <summary>
    /// Checkpoint at a step boundary through the commit protocol; the stall counts the wait for the previous save and the
    /// capture (the ticket, write and vote run in the background). Every rank calls it at the same steps.
    /// </summary>
    private async Task SaveCheckpointAsync(SamplerCursor cursor, bool final, CancellationToken cancellationToken)
    {
        // The max-steps save and the end-of-epoch save can fall on the same step: one is enough.
        if (checkpoints is null || step == lastSavedStep) return;
        lastSavedStep = step;
        var start = options.TimeProvider.GetTimestamp();
        shadow?.BuffersToMaster();
        await checkpoints.SaveAsync(new CheckpointRequest(step, cursor, final), CurrentProgress(cursor), master, optimizer, cancellationToken).ConfigureAwait(false);
        var stall = options.TimeProvider.GetElapsedTime(start);
        timings.CheckpointSaves++;
        timings.CheckpointStall += stall;
        if (stall > timings.MaxCheckpointStall) timings.MaxCheckpointStall = stall;
    }

    private TrainerProgress CurrentProgress(SamplerCursor cursor) => new()
    {
        Step = step, Epoch = cursor.Epoch, Position = cursor.GlobalPosition, SkippedSteps = skippedSteps,
        BestMetric = earlyStopping is { Best: var b } && !double.IsNaN(b) ? b : null,
        EpochsWithoutImprovement = earlyStopping?.EpochsWithoutImprovement ?? 0, WorldSize = communicator.WorldSize, ScheduleWorldSize = scheduleClock.ReferenceWorld,
        PlateauLosses = schedule.ObservedLosses.Count > 0 ? schedule.ObservedLosses.ToArray() : null,
        LearningRate = schedule.CurrentLr,
    };

    private void Log(string message) => options.Log?.Invoke(message);
}
