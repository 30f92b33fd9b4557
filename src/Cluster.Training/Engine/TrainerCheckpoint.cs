using Cluster.Training.Checkpoints;
using Cluster.Training.Data;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Cluster.Training.Engine;

/// <summary>
/// The trainer's use of the checkpoint store (<see cref="CheckpointStore"/>: <c>dir/step-N/</c> with a SHA-256
/// manifest, atomic writes, keep-last-K). Parts: <c>model.bin</c> (Module.save of the fp32 master, loadable with
/// Module.load), <c>optimizer.bin</c>, <c>trainer.json</c> (<see cref="TrainerProgress"/>); the store's state.json
/// carries step and sampler cursor. Rank 0 writes in the background (only the in-memory snapshot stalls training);
/// every rank reads the newest checkpoint that verifies.
/// </summary>
public sealed class TrainerCheckpoint : IAsyncDisposable
{
    public const string ModelFile = "model.bin";
    public const string OptimizerFile = "optimizer.bin";
    public const string ProgressFile = "trainer.json";

    private readonly CheckpointStore store;
    private readonly BackgroundCheckpointer writer;
    private readonly OptimizerTwin? optimizerTwin;

    /// <param name="createOptimizerTwin">
    /// Builds an optimizer like the live one over the same parameters (see <see cref="OptimizerTwin"/>): with it, a save
    /// stalls training only for copying tensors; without it, the optimizer state is serialised on the training thread.
    /// </param>
    public TrainerCheckpoint(string directory, int keepLast, TimeProvider? timeProvider = null, Func<OptimizerHelper>? createOptimizerTwin = null)
    {
        optimizerTwin = createOptimizerTwin is null ? null : new OptimizerTwin(createOptimizerTwin);
        store = new CheckpointStore(new CheckpointOptions { Directory = directory, KeepLast = keepLast, TimeProvider = timeProvider ?? TimeProvider.System });
        writer = new BackgroundCheckpointer(store);
    }

    public string Directory => store.Directory;

    /// <summary>The newest verified checkpoint's progress, without loading tensors; null when there is none.</summary>
    public (CheckpointInfo Info, TrainerProgress Progress)? PeekLatest()
    {
        if (store.Latest() is not { } info) return null;
        TrainerProgress? progress = null;
        store.Load(info, [new JsonCheckpointPart<TrainerProgress>(ProgressFile, () => throw new InvalidOperationException(), p => progress = p)]);
        return (info, progress!);
    }

    /// <summary>Restores model and optimizer from <paramref name="info"/> and returns the trainer progress.</summary>
    public TrainerProgress Load(CheckpointInfo info, nn.Module model, optim.Optimizer optimizer)
    {
        TrainerProgress? progress = null;
        store.Load(info, [
            new ModuleCheckpointPart(model, ModelFile),
            new OptimizerCheckpointPart((OptimizerHelper)optimizer, OptimizerFile),
            new JsonCheckpointPart<TrainerProgress>(ProgressFile, () => throw new InvalidOperationException(), p => progress = p),
        ]);
        return progress!;
    }

    /// <summary>Captures now and serialises and writes in the background (waits for the previous write first).</summary>
    public void Save(TrainerProgress progress, nn.Module model, optim.Optimizer optimizer, CancellationToken cancellationToken) =>
        writer.Begin(StateOf(progress), Parts(progress, model, optimizer), cancellationToken);

    /// <summary>
    /// Readies the writing rank for saves with a new live optimizer: builds its twin and runs one capture that is thrown
    /// away, so that the first save's one-time costs (JIT, JSON metadata, first tensor copies) are not paid inside a
    /// training step. Waits for the previous save's write first (a twin being written must not be replaced).
    /// </summary>
    public async Task PrepareAsync(nn.Module model, optim.Optimizer optimizer, CancellationToken cancellationToken)
    {
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        optimizerTwin?.Prepare((OptimizerHelper)optimizer);
        var progress = new TrainerProgress { WorldSize = 1 };
        store.Capture(StateOf(progress), Parts(progress, model, optimizer)).Dispose();
    }

    private static CheckpointState StateOf(TrainerProgress progress) => new()
    {
        Step = progress.Step, Epoch = progress.Epoch, Cursor = new SamplerCursor(progress.Epoch, progress.Position), WorldSize = progress.WorldSize,
    };

    private ICheckpointPart[] Parts(TrainerProgress progress, nn.Module model, optim.Optimizer optimizer) =>
    [
        new ModuleCheckpointPart(model, ModelFile),
        new OptimizerCheckpointPart((OptimizerHelper)optimizer, OptimizerFile, optimizerTwin),
        new JsonCheckpointPart<TrainerProgress>(ProgressFile, () => progress, _ => { }),
    ];

    public Task FlushAsync(CancellationToken cancellationToken) => writer.FlushAsync(cancellationToken);

    /// <summary>model.bin of the newest verified checkpoint in <paramref name="directory"/>, or null.</summary>
    public static string? ModelFileOfLatest(string directory) =>
        new CheckpointStore(new CheckpointOptions { Directory = directory }).Latest() is { } info ? Path.Combine(info.Directory, ModelFile) : null;

    public async ValueTask DisposeAsync()
    {
        await writer.DisposeAsync().ConfigureAwait(false);
        // A write still running past its deadline may be reading the twin: leak it rather than free it under the reader.
        if (writer.Last is not { Completion.IsCompleted: false }) optimizerTwin?.Dispose();
    }
}
