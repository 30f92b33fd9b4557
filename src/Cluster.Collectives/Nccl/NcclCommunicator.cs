namespace Cluster.Collectives.Nccl;

/// <summary>
/// An <see cref="ICommunicator"/> whose AllReduce and Broadcast run on NCCL (one CUDA device per rank); the other
/// operations delegate to the bootstrap communicator (TCP), which this communicator owns and disposes.
/// Host <see cref="Memory{T}"/> is staged through a device buffer (copy in, NCCL op, copy out) on a private stream;
/// <see cref="AllReduceDevice"/>/<see cref="BroadcastDevice"/> work on device pointers directly. Completion is
/// polled with cudaStreamQuery and ncclCommGetAsyncError under the operation deadline, so nothing blocks forever;
/// on a deadline the communicator is aborted (ncclCommAbort). Operations are serialised. Never run on a GPU yet:
/// see docs/nccl.md.
/// </summary>
internal sealed partial class NcclCommunicator : ICommunicator
{
    private readonly NcclApi _api;
    private readonly CommunicatorOptions _options;
    private readonly ICommunicator _bootstrap;
    private readonly int _device;
    private readonly SemaphoreSlim _serial = new(1, 1);
    private IntPtr _comm;
    private IntPtr _stream;
    private IntPtr _staging;
    private long _stagingBytes;
    private int _state; // 0 live, 1 aborted, 2 disposed
    private string _abortReason = "";

    private NcclCommunicator(NcclApi api, CommunicatorOptions options, ICommunicator bootstrap, int device, IntPtr comm, IntPtr stream)
    {
        _api = api;
        _options = options;
        _bootstrap = bootstrap;
        _device = device;
        _comm = comm;
        _stream = stream;
    }

    public string JobId => _options.JobId;
    public long Generation => _options.Generation;
    public int Rank => _options.Rank;
    public int WorldSize => _options.WorldSize;

    /// <summary>Loads NCCL (failing at once with <see cref="BackendUnavailableException"/> when it or the CUDA runtime
    /// is missing), selects <paramref name="cudaDevice"/>, shares rank 0's unique id over <paramref name="bootstrap"/>
    /// and joins the NCCL communicator within <see cref="CommunicatorOptions.ConnectTimeout"/>.</summary>
    internal static async Task<ICommunicator> CreateAsync(CommunicatorOptions options, ICommunicator bootstrap, int cudaDevice, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bootstrap);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(cudaDevice);
        if (bootstrap.Rank != options.Rank || bootstrap.WorldSize != options.WorldSize)
            throw new ArgumentException($"bootstrap communicator is rank {bootstrap.Rank} of {bootstrap.WorldSize}, options say {options.Rank} of {options.WorldSize}", nameof(bootstrap));
        var api = NcclApi.Load();
        Check(api, "nccl-init", options.Generation, "cudaSetDevice", api.CudaSetDevice(cudaDevice), cuda: true);

        var id = new byte[NcclUniqueId.Size];
        if (options.Rank == 0)
            Check(api, "nccl-init", options.Generation, "ncclGetUniqueId", api.GetUniqueId(id), cuda: false);
        await bootstrap.BroadcastAsync<byte>(id, 0, ct).ConfigureAwait(false);

        // ncclCommInitRank blocks until every rank joined: run it off the caller's thread, under the connect deadline.
        var init = Task.Factory.StartNew(() =>
        {
            Check(api, "nccl-init", options.Generation, "cudaSetDevice", api.CudaSetDevice(cudaDevice), cuda: true);
            Check(api, "nccl-init", options.Generation, "ncclCommInitRank", api.CommInitRank(out var comm, options.WorldSize, id, options.Rank), cuda: false);
            var rc = api.CudaStreamCreate(out var stream);
            if (rc != CudaError.Success) { api.CommDestroy(comm); Check(api, "nccl-init", options.Generation, "cudaStreamCreate", rc, cuda: true); }
            return (comm, stream);
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            var (comm, stream) = await init.WaitAsync(options.ConnectTimeout, ct).ConfigureAwait(false);
            return new NcclCommunicator(api, options, bootstrap, cudaDevice, comm, stream);
        }
        catch (TimeoutException)
        {
            // The init thread stays blocked inside NCCL until the process exits; nothing can interrupt it.
            throw new CollectiveTimeoutException("nccl-init", options.Generation, null, options.ConnectTimeout);
        }
    }

    public async ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var dtype = DataType<T>("all-reduce", allowBytes: false);
        if (data.IsEmpty) { ThrowIfNotLive("all-reduce"); return; }
        await RunStagedAsync("all-reduce", data, copyIn: true, (dev, count) =>
            _api.AllReduce(dev, dev, count, dtype, op == ReduceOp.Average ? NcclRedOp.Sum : Map(op), _comm, _stream), cancellationToken).ConfigureAwait(false);
        if (op == ReduceOp.Average) Reducer.Divide(data.Span, WorldSize);
    }

    public ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var dtype = DataType<T>("broadcast", allowBytes: true);
        if ((uint)root >= (uint)WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize})");
        if (data.IsEmpty) { ThrowIfNotLive("broadcast"); return ValueTask.CompletedTask; }
        return new ValueTask(RunStagedAsync("broadcast", data, copyIn: Rank == root, (dev, count) =>
            _api.Broadcast(dev, dev, count, dtype, root, _comm, _stream), cancellationToken));
    }

    public ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged
    { ThrowIfNotLive("all-gather"); return _bootstrap.AllGatherAsync(input, output, cancellationToken); }

    public ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    { ThrowIfNotLive("reduce-scatter"); return _bootstrap.ReduceScatterAsync(input, output, op, cancellationToken); }

    public ValueTask BarrierAsync(CancellationToken cancellationToken = default)
    { ThrowIfNotLive("barrier"); return _bootstrap.BarrierAsync(cancellationToken); }

    public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged
    { ThrowIfNotLive("send"); return _bootstrap.SendAsync(data, destination, cancellationToken); }

    public ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged
    { ThrowIfNotLive("recv"); return _bootstrap.RecvAsync(data, source, cancellationToken); }

    public void Abort(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) return;
        _abortReason = reason;
        _api.CommAbort(_comm);
        _bootstrap.Abort(reason);
    }

    public async ValueTask DisposeAsync()
    {
        var previous = Interlocked.Exchange(ref _state, 2);
        if (previous == 2) return;
        // Wait (bounded) for a running operation to notice the state change and stop touching the buffers.
        var idle = await _serial.WaitAsync(_options.OperationTimeout).ConfigureAwait(false);
        try
        {
            if (previous == 0) _api.CommDestroy(_comm);
            _api.CudaSetDevice(_device);
            if (_staging != IntPtr.Zero && idle) { _api.CudaFree(_staging); _staging = IntPtr.Zero; }
            if (idle) _api.CudaStreamDestroy(_stream);
        }
        finally
        {
            if (idle) _serial.Release();
        }
        await _bootstrap.DisposeAsync().ConfigureAwait(false);
    }
}
