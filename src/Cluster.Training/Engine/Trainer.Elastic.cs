using Cluster.Collectives;
using Cluster.Training.Checkpoints;
using Cluster.Training.Distributed;
using TorchSharp.Modules;

namespace Cluster.Training.Engine;

/// <summary>Elastic recovery of <see cref="Trainer"/>: from one generation's communicator to the next, the state kept in memory.</summary>
public sealed partial class Trainer
{
    /// <summary>
    /// Takes the communicator of the next generation (elastic recovery) between two calls of <see cref="RunAsync"/>: the
    /// gradient synchronisation, evaluation and checkpoint roles are rebuilt for its rank and world size; model, optimizer
    /// and schedule are kept. Half-accumulated gradients of the step in flight are dropped.
    /// </summary>
    public async Task RebindAsync(ICommunicator next, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
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

    /// <summary>Where an interrupted run goes on: after the last step this rank applied.</summary>
    private TrainerProgress InMemoryProgress() => new()
    {
        Step = step, Epoch = resumeCursor.Epoch, Position = resumeCursor.GlobalPosition, SkippedSteps = skippedSteps,
        WorldSize = communicator.WorldSize, ScheduleWorldSize = scheduleClock.ReferenceWorld,
    };

    /// <summary>
    /// Survivors of a generation must hold the same step (the all-reduce gives every rank that completes it the same
    /// gradients). Not yet handled: a survivor that applied a step another did not (that needs the state transfer).
    /// </summary>
    private async Task CheckSurvivorsAgreeAsync(CancellationToken cancellationToken)
    {
        if (communicator.WorldSize > 1)
        {
            double[] range = [step, -step];
            await communicator.AllReduceAsync<double>(range, ReduceOp.Max, cancellationToken).ConfigureAwait(false);
            if ((long)range[0] != step || (long)-range[1] != step)
                throw new InvalidOperationException($"the ranks of generation {communicator.Generation} resume at different steps ({(long)-range[1]}..{(long)range[0]}; this rank {step}): no rank can catch up without a state transfer");
        }
        Log($"generation {communicator.Generation}: {communicator.WorldSize} rank(s) go on from step {step} (epoch {resumeCursor.Epoch}, position {resumeCursor.GlobalPosition})");
    }
}
