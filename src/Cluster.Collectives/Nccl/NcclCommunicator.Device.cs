using System.Buffers;
using System.Diagnostics;

namespace Cluster.Collectives.Nccl;

internal sealed partial class NcclCommunicator
{
    /// <summary>In-place all-reduce of <paramref name="count"/> elements at device pointer <paramref name="devPtr"/>
    /// (on this communicator's device). Average uses ncclAvg.</summary>
    public Task AllReduceDevice<T>(IntPtr devPtr, long count, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var dtype = DataType<T>("all-reduce", allowBytes: false);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > 0 && devPtr == IntPtr.Zero) throw new ArgumentNullException(nameof(devPtr));
        return RunAsync("all-reduce", () =>
            _api.AllReduce(devPtr, devPtr, (nuint)count, dtype, Map(op), _comm, _stream), cancellationToken);
    }

    /// <summary>In-place broadcast of <paramref name="count"/> elements at device pointer <paramref name="devPtr"/> from <paramref name="root"/>.</summary>
    public Task BroadcastDevice<T>(IntPtr devPtr, long count, int root, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var dtype = DataType<T>("broadcast", allowBytes: true);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((uint)root >= (uint)WorldSize) throw new ArgumentOutOfRangeException(nameof(root), root, $"root must be in [0, {WorldSize})");
        return RunAsync("broadcast", () =>
            _api.Broadcast(devPtr, devPtr, (nuint)count, dtype, root, _comm, _stream), cancellationToken);
    }

    private async Task RunStagedAsync<T>(string operation, Memory<T> data, bool copyIn, Func<IntPtr, nuint, int> collective, CancellationToken ct) where T : unmanaged
    {
        var bytes = (long)data.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        using var pin = data.Pin();
        var host = PinnedAddress(pin);
        await RunAsync(operation, () =>
        {
            EnsureStaging(operation, bytes);
            var dev = _staging;
            if (copyIn)
                Check(_api, operation, Generation, "cudaMemcpyAsync", _api.CudaMemcpyAsync(dev, host, (nuint)bytes, CudaMemcpyKind.HostToDevice, _stream), cuda: true);
            var rc = collective(dev, (nuint)data.Length);
            if (rc != (int)NcclResult.Success) return rc;
            Check(_api, operation, Generation, "cudaMemcpyAsync", _api.CudaMemcpyAsync(host, dev, (nuint)bytes, CudaMemcpyKind.DeviceToHost, _stream), cuda: true);
            return rc;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>Enqueues <paramref name="enqueue"/> on the stream, then polls the stream and NCCL's async error until
    /// done, the deadline (abort), cancellation (abort) or <see cref="Abort"/>.</summary>
    private async Task RunAsync(string operation, Func<int> enqueue, CancellationToken ct)
    {
        ThrowIfNotLive(operation);
        if (!await _serial.WaitAsync(_options.OperationTimeout, ct).ConfigureAwait(false))
            throw new CollectiveTimeoutException(operation, Generation, null, _options.OperationTimeout);
        try
        {
            ThrowIfNotLive(operation);
            Check(_api, operation, Generation, "cudaSetDevice", _api.CudaSetDevice(_device), cuda: true);
            var rc = enqueue();
            if (rc != (int)NcclResult.Success) Check(_api, operation, Generation, "NCCL collective", rc, cuda: false);
            var deadline = Stopwatch.GetTimestamp() + (long)(_options.OperationTimeout.TotalSeconds * Stopwatch.Frequency);
            for (var spins = 0; ; spins++)
            {
                var q = _api.CudaStreamQuery(_stream);
                if (q == CudaError.Success) return;
                if (q != CudaError.NotReady) Check(_api, operation, Generation, "cudaStreamQuery", q, cuda: true);
                var arc = _api.CommGetAsyncError(_comm, out var asyncError);
                if (arc == (int)NcclResult.Success && asyncError is not ((int)NcclResult.Success or (int)NcclResult.InProgress))
                {
                    Abort($"NCCL reported {_api.NcclError(asyncError)}");
                    throw new CollectiveException(operation, Generation, null, $"NCCL reported {_api.NcclError(asyncError)}");
                }
                ThrowIfNotLive(operation);
                if (ct.IsCancellationRequested) { Abort($"{operation} cancelled"); ct.ThrowIfCancellationRequested(); }
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    Abort($"{operation} passed its deadline");
                    throw new CollectiveTimeoutException(operation, Generation, null, _options.OperationTimeout);
                }
                if (spins < 2000) Thread.SpinWait(50);
                else await Task.Delay(1, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _serial.Release();
        }
    }

    private static unsafe IntPtr PinnedAddress(MemoryHandle pin) => (IntPtr)pin.Pointer;

    private void EnsureStaging(string operation, long bytes)
    {
        if (bytes <= _stagingBytes) return;
        if (_staging != IntPtr.Zero) { _api.CudaFree(_staging); _staging = IntPtr.Zero; _stagingBytes = 0; }
        var size = Math.Max(bytes, 1L << 20);
        Check(_api, operation, Generation, "cudaMalloc", _api.CudaMalloc(out var p, (nuint)size), cuda: true);
        _staging = p;
        _stagingBytes = size;
    }

    private void ThrowIfNotLive(string operation)
    {
        switch (Volatile.Read(ref _state))
        {
            case 1: throw new CommunicatorAbortedException(operation, Generation, _abortReason);
            case 2: throw new ObjectDisposedException(nameof(NcclCommunicator));
        }
    }

    private static NcclRedOp Map(ReduceOp op) => op switch
    {
        ReduceOp.Sum => NcclRedOp.Sum,
        ReduceOp.Average => NcclRedOp.Avg,
        ReduceOp.Min => NcclRedOp.Min,
        ReduceOp.Max => NcclRedOp.Max,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op"),
    };

    internal static NcclDataType DataType<T>(string operation, bool allowBytes) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return NcclDataType.Float32;
        if (typeof(T) == typeof(double)) return NcclDataType.Float64;
        if (typeof(T) == typeof(Half)) return NcclDataType.Float16;
        if (typeof(T) == typeof(BFloat16)) return NcclDataType.Bfloat16;
        if (typeof(T) == typeof(int)) return NcclDataType.Int32;
        if (typeof(T) == typeof(long)) return NcclDataType.Int64;
        if (allowBytes && typeof(T) == typeof(byte)) return NcclDataType.Uint8;
        throw new NotSupportedException($"{operation}: element type {typeof(T).Name} is not supported by NCCL collectives");
    }

    private static void Check(NcclApi api, string operation, long generation, string function, int rc, bool cuda)
    {
        if (rc == 0) return;
        var text = cuda ? api.CudaErrorText(rc) : api.NcclError(rc);
        throw new CollectiveException(operation, generation, null, $"{function} failed: {text}");
    }
}
