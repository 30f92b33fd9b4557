using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Contracts.Checkpoints;
using Cluster.Training.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// The trainer's one checkpoint path. At a step boundary rank 0 captures the state (model tensors copied into copies
/// kept between saves, optimizer moments copied into a never-stepping twin, trainer progress) and returns to training; on a background task the rank asks the
/// <see cref="ICheckpointCommitter"/> for a ticket (the coordinator's directive round trip), the capture is serialised,
/// written, hashed while writing and fsynced into the ticket's <c>ckpt-N</c> directory, then the rank votes. Other ranks
/// vote without files. A failed write is voted as an error (the checkpoint is discarded) and never fails training. At
/// most one save is in flight. Restore reads rank 0's files of a committed manifest, verified byte for byte.
/// </summary>
public sealed class TrainerCheckpoint : IAsyncDisposable
{
    public const string ModelFile = "model.bin";
    public const string OptimizerFile = "optimizer.bin";
    public const string ProgressFile = "trainer.json";

    private static readonly TimeSpan WriteTimeout = TimeSpan.FromMinutes(10);
    private readonly ICheckpointCommitter _committer;
    private readonly int _rank;
    private readonly OptimizerTwin? _optimizerTwin;
    private readonly ModuleTwin? _modelTwin;
    private readonly Action<string> _log;
    private Task _inFlight = Task.CompletedTask;

    /// <param name="createOptimizerTwin">
    /// Builds an optimizer like the live one over the same parameters (see <see cref="OptimizerTwin"/>): with it, a save
    /// stalls training only for copying tensors; without it, the optimizer state is serialised on the training thread.
    /// </param>
    public TrainerCheckpoint(ICheckpointCommitter committer, int rank, Func<OptimizerHelper>? createOptimizerTwin = null, Action<string>? log = null)
    {
        _committer = committer ?? throw new ArgumentNullException(nameof(committer));
        _rank = rank;
        _optimizerTwin = createOptimizerTwin is null || rank != 0 ? null : new OptimizerTwin(createOptimizerTwin);
        _modelTwin = rank == 0 ? new ModuleTwin() : null;
        _log = log ?? (_ => { });
    }

    /// <summary>The trainer progress stored in <paramref name="manifest"/>, verified, without loading tensors.</summary>
    public static TrainerProgress PeekProgress(CheckpointManifest manifest)
    {
        TrainerProgress? progress = null;
        CheckpointReader.Load(manifest, [new JsonCheckpointPart<TrainerProgress>(ProgressFile, () => throw new InvalidOperationException(), p => progress = p)]);
        return progress!;
    }

    /// <summary>Restores model and optimizer from a committed checkpoint and returns the trainer progress.</summary>
    public static TrainerProgress Load(CheckpointManifest manifest, nn.Module model, optim.Optimizer optimizer)
    {
        TrainerProgress? progress = null;
        CheckpointReader.Load(manifest, LiveParts(model, optimizer, () => throw new InvalidOperationException(), p => progress = p));
        return progress!;
    }

    /// <summary>
    /// The parts of the training state, read from and written to the live model and optimizer: what a checkpoint holds and
    /// what a state transfer sends (<see cref="Trainer"/>'s sync).
    /// </summary>
    internal static ICheckpointPart[] LiveParts(nn.Module model, optim.Optimizer optimizer, Func<TrainerProgress> get, Action<TrainerProgress> set) =>
    [
        new ModuleCheckpointPart(model, ModelFile),
        new OptimizerCheckpointPart((OptimizerHelper)optimizer, OptimizerFile),
        new JsonCheckpointPart<TrainerProgress>(ProgressFile, get, set),
    ];

    /// <summary>model.bin of the newest committed checkpoint that verifies under <paramref name="lineageRoot"/>, or null.</summary>
    public static string? ModelFileOfLatest(string lineageRoot) =>
        CheckpointLineage.Scan(lineageRoot, 1).Latest is { } m ? Path.Combine(m.Directory, ModelFile) : null;

    /// <summary>
    /// Saves at a step boundary (training thread): waits for the previous save, captures (rank 0) and returns. Asking for
    /// the ticket (the coordinator's directive round trip), writing and voting run in the background; when no checkpoint
    /// is opened at this step the capture is dropped.
    /// </summary>
    public async Task SaveAsync(CheckpointRequest request, TrainerProgress progress, nn.Module model, optim.Optimizer optimizer, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        CheckpointCapture? capture = null;
        string? error = null;
        if (_rank == 0)
        {
            try { capture = CheckpointCapture.Take(Parts(progress, model, optimizer)); }
            catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException) { error = $"capture failed: {e.Message}"; }
        }
        _inFlight = Task.Run(() => OpenWriteAndVoteAsync(capture, error, request, cancellationToken), CancellationToken.None);
    }

    /// <summary>
    /// Readies rank 0 for saves with a new live optimizer: builds its twin and runs one capture that is thrown away, so the
    /// first save's one-time costs (JIT, JSON metadata, first tensor copies) are not paid inside a training step.
    /// </summary>
    public async Task PrepareAsync(nn.Module model, optim.Optimizer optimizer, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false); // a twin being written must not be replaced
        if (_rank != 0) return;
        _optimizerTwin?.Prepare((OptimizerHelper)optimizer);
        CheckpointCapture.Take(Parts(new TrainerProgress { WorldSize = 1 }, model, optimizer)).Dispose();
    }

    /// <summary>Waits (bounded) for the save in flight: its files written and its vote delivered.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        try { await _inFlight.WaitAsync(WriteTimeout, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"waited {WriteTimeout.TotalMinutes:0} min for the checkpoint write and vote of rank {_rank}", e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _inFlight.IsCanceled)
        {
            // The save's own generation ended while it asked or voted (a peer died mid-checkpoint): the coordinator aborted
            // that checkpoint, so there is nothing left to wait for.
        }
    }

    private async Task OpenWriteAndVoteAsync(CheckpointCapture? capture, string? error, CheckpointRequest request, CancellationToken cancellationToken)
    {
        using (capture)
        {
            CheckpointTicket? ticket;
            try { ticket = await _committer.OpenAsync(request, cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _log($"checkpoint at step {request.Step} not opened: {e.GetType().Name}: {e.Message}; training goes on");
                return;
            }
            if (ticket is null || ticket.Step != request.Step) return;
            IReadOnlyList<CheckpointFile> files = [];
            try
            {
                if (capture is not null) files = capture.WriteTo(ticket.Directory);
            }
            catch (Exception e) // whatever went wrong, the vote says so and training goes on
            {
                error = $"{e.GetType().Name}: {e.Message}";
                _log($"checkpoint {ticket.CheckpointId} at step {ticket.Step} not written: {error}; training goes on");
            }
            await VoteAsync(ticket, request, error, cancellationToken, files).ConfigureAwait(false);
        }
    }

    private async Task VoteAsync(CheckpointTicket ticket, CheckpointRequest request, string? error, CancellationToken cancellationToken, IReadOnlyList<CheckpointFile>? files = null)
    {
        try
        {
            await _committer.AckAsync(ticket, request, files ?? [], error, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The commit is lost (the coordinator times it out or the local commit failed); training goes on.
            _log($"checkpoint {ticket.CheckpointId} at step {ticket.Step}: vote not delivered: {e.GetType().Name}: {e.Message}");
        }
    }

    private ICheckpointPart[] Parts(TrainerProgress progress, nn.Module model, optim.Optimizer optimizer) =>
    [
        new ModuleCheckpointPart(model, ModelFile, _modelTwin),
        new OptimizerCheckpointPart((OptimizerHelper)optimizer, OptimizerFile, _optimizerTwin),
        new JsonCheckpointPart<TrainerProgress>(ProgressFile, () => progress, _ => { }),
    ];

    public async ValueTask DisposeAsync()
    {
        try { await _inFlight.WaitAsync(WriteTimeout).ConfigureAwait(false); }
        catch (TimeoutException) { return; } // a write still running may be reading the twin: leak it rather than free it under the reader
        catch (OperationCanceledException) { /* cancelled while it asked or voted: the write (synchronous) was done or never began */ }
        _optimizerTwin?.Dispose();
        _modelTwin?.Dispose();
    }
}
