namespace Cluster.Training.Checkpoints;

/// <summary>
/// Checkpointing that blocks the training thread only for the capture: <see cref="Begin"/> copies every capturable
/// part's tensors (<see cref="ICapturableCheckpointPart"/>; other parts are serialised at once) and returns; the
/// copies are serialised, written, fsynced and published on a background task. At most one write is in flight: a second <see cref="Begin"/> first waits for
/// the previous one (that wait counts as stall) and rethrows its failure.
/// </summary>
public sealed class BackgroundCheckpointer : IAsyncDisposable
{
    private readonly CheckpointStore _store;
    private readonly TimeSpan _writeTimeout;
    private PendingCheckpoint? _inFlight;

    public BackgroundCheckpointer(CheckpointStore store, TimeSpan? writeTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _writeTimeout = writeTimeout ?? TimeSpan.FromMinutes(10);
        if (_writeTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(writeTimeout), writeTimeout, "writeTimeout must be positive.");
        _store = store;
    }

    /// <summary>The last started checkpoint (maybe still writing).</summary>
    public PendingCheckpoint? Last => _inFlight;

    /// <summary>Call on the training thread at a step boundary.</summary>
    public PendingCheckpoint Begin(CheckpointState state, IReadOnlyList<ICheckpointPart> parts, CancellationToken cancellationToken)
    {
        var clock = _store.TimeProvider;
        long start = clock.GetTimestamp();
        WaitPrevious(cancellationToken);
        var capture = _store.Capture(state, parts);
        var stall = clock.GetElapsedTime(start);
        var task = Task.Run(() =>
        {
            long writeStart = clock.GetTimestamp();
            var snapshot = _store.Serialize(capture);
            var info = _store.Write(snapshot, out var deleted);
            return new CheckpointWriteResult(info, snapshot.TotalBytes, stall, clock.GetElapsedTime(writeStart), deleted);
        }, CancellationToken.None);
        _inFlight = new PendingCheckpoint(state.Step, stall, task);
        return _inFlight;
    }

    /// <summary>Snapshot and write on the calling thread (stall = whole write).</summary>
    public CheckpointWriteResult SaveNow(CheckpointState state, IReadOnlyList<ICheckpointPart> parts, CancellationToken cancellationToken)
    {
        var clock = _store.TimeProvider;
        long start = clock.GetTimestamp();
        WaitPrevious(cancellationToken);
        var snapshot = _store.Snapshot(state, parts);
        long writeStart = clock.GetTimestamp();
        var info = _store.Write(snapshot, out var deleted);
        var write = clock.GetElapsedTime(writeStart);
        return new CheckpointWriteResult(info, snapshot.TotalBytes, clock.GetElapsedTime(start), write, deleted);
    }

    /// <summary>Waits for the in-flight write (if any) and returns its result.</summary>
    public async Task<CheckpointWriteResult?> FlushAsync(CancellationToken cancellationToken)
    {
        var pending = _inFlight;
        if (pending is null) return null;
        try
        {
            return await pending.Completion.WaitAsync(_writeTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"Waited {_writeTimeout} for the background write of checkpoint step {pending.Step} to {_store.Directory}.", ex);
        }
    }

    private void WaitPrevious(CancellationToken cancellationToken)
    {
        var pending = _inFlight;
        if (pending is null) return;
        try
        {
            if (!pending.Completion.Wait(_writeTimeout, cancellationToken))
                throw new TimeoutException($"Waited {_writeTimeout} for the background write of checkpoint step {pending.Step} to {_store.Directory}.");
        }
        catch (AggregateException ex)
        {
            _inFlight = null; // reported once; the next checkpoint may succeed
            throw new IOException($"The background write of checkpoint step {pending.Step} to {_store.Directory} failed: {ex.InnerException?.Message}", ex.InnerException ?? ex);
        }
    }

    /// <summary>Waits (bounded) for the in-flight write; its failure is not rethrown here.</summary>
    public async ValueTask DisposeAsync()
    {
        var pending = _inFlight;
        if (pending is null) return;
        try { await pending.Completion.WaitAsync(_writeTimeout).ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or TimeoutException or UnauthorizedAccessException) { }
    }
}
