using System.Runtime.InteropServices;

namespace Cluster.Collectives.Nccl;

/// <summary>
/// Lazily loaded binding to libnccl.so.2 and the CUDA runtime (libcudart.so.12, then libcudart.so), through
/// <see cref="NativeLibrary"/> and unmanaged function pointers, so nothing is touched until NCCL is asked for.
/// <see cref="Load"/> fails at once with <see cref="BackendUnavailableException"/> naming every library it tried.
/// Handles are never freed: NCCL keeps process-wide state.
/// </summary>
internal sealed unsafe class NcclApi
{
    public static readonly string[] NcclLibraries = ["libnccl.so.2", "libnccl.so"];
    public static readonly string[] CudartLibraries = ["libcudart.so.12", "libcudart.so", "libcudart.so.13", "libcudart.so.11.0"];

    /// <summary>Every export the binding resolves, in the order <see cref="Load"/> looks them up.</summary>
    public static readonly string[] NcclExports =
        ["ncclGetUniqueId", "ncclCommInitRank", "ncclAllReduce", "ncclBroadcast", "ncclCommAbort", "ncclCommDestroy", "ncclGetErrorString", "ncclCommGetAsyncError"];
    public static readonly string[] CudartExports =
        ["cudaSetDevice", "cudaMalloc", "cudaFree", "cudaMemcpy", "cudaMemcpyAsync", "cudaStreamCreate", "cudaStreamDestroy", "cudaStreamSynchronize", "cudaStreamQuery", "cudaGetErrorString"];

    private static readonly Lock Gate = new();
    private static NcclApi? _loaded;

    // nccl.h
    private delegate* unmanaged<NcclUniqueId*, int> _getUniqueId;
    private delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int> _commInitRank;
    private delegate* unmanaged<void*, void*, nuint, int, int, IntPtr, IntPtr, int> _allReduce;
    private delegate* unmanaged<void*, void*, nuint, int, int, IntPtr, IntPtr, int> _broadcast;
    private delegate* unmanaged<IntPtr, int> _commAbort;
    private delegate* unmanaged<IntPtr, int> _commDestroy;
    private delegate* unmanaged<int, byte*> _getErrorString;
    private delegate* unmanaged<IntPtr, int*, int> _commGetAsyncError;

    // cuda_runtime_api.h
    private delegate* unmanaged<int, int> _cudaSetDevice;
    private delegate* unmanaged<void**, nuint, int> _cudaMalloc;
    private delegate* unmanaged<void*, int> _cudaFree;
    private delegate* unmanaged<void*, void*, nuint, int, int> _cudaMemcpy;
    private delegate* unmanaged<void*, void*, nuint, int, IntPtr, int> _cudaMemcpyAsync;
    private delegate* unmanaged<IntPtr*, int> _cudaStreamCreate;
    private delegate* unmanaged<IntPtr, int> _cudaStreamDestroy;
    private delegate* unmanaged<IntPtr, int> _cudaStreamSynchronize;
    private delegate* unmanaged<IntPtr, int> _cudaStreamQuery;
    private delegate* unmanaged<int, byte*> _cudaGetErrorString;

    private NcclApi() { }

    /// <summary>The loaded binding, or <see cref="BackendUnavailableException"/> naming what is missing.</summary>
    public static NcclApi Load()
    {
        lock (Gate)
        {
            if (_loaded is not null) return _loaded;
            var nccl = TryLoadAny(NcclLibraries);
            var cudart = TryLoadAny(CudartLibraries);
            if (nccl == IntPtr.Zero || cudart == IntPtr.Zero)
            {
                var missing = new List<string>();
                if (nccl == IntPtr.Zero) missing.Add($"could not load {string.Join(" or ", NcclLibraries)} (install NCCL 2.x and put it on the loader path)");
                if (cudart == IntPtr.Zero) missing.Add($"could not load the CUDA runtime ({string.Join(", ", CudartLibraries)})");
                throw new BackendUnavailableException("NCCL", string.Join("; ", missing));
            }
            var api = new NcclApi();
            api._getUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)Export(nccl, "ncclGetUniqueId");
            api._commInitRank = (delegate* unmanaged<IntPtr*, int, NcclUniqueId, int, int>)Export(nccl, "ncclCommInitRank");
            api._allReduce = (delegate* unmanaged<void*, void*, nuint, int, int, IntPtr, IntPtr, int>)Export(nccl, "ncclAllReduce");
            api._broadcast = (delegate* unmanaged<void*, void*, nuint, int, int, IntPtr, IntPtr, int>)Export(nccl, "ncclBroadcast");
            api._commAbort = (delegate* unmanaged<IntPtr, int>)Export(nccl, "ncclCommAbort");
            api._commDestroy = (delegate* unmanaged<IntPtr, int>)Export(nccl, "ncclCommDestroy");
            api._getErrorString = (delegate* unmanaged<int, byte*>)Export(nccl, "ncclGetErrorString");
            api._commGetAsyncError = (delegate* unmanaged<IntPtr, int*, int>)Export(nccl, "ncclCommGetAsyncError");
            api._cudaSetDevice = (delegate* unmanaged<int, int>)Export(cudart, "cudaSetDevice");
            api._cudaMalloc = (delegate* unmanaged<void**, nuint, int>)Export(cudart, "cudaMalloc");
            api._cudaFree = (delegate* unmanaged<void*, int>)Export(cudart, "cudaFree");
            api._cudaMemcpy = (delegate* unmanaged<void*, void*, nuint, int, int>)Export(cudart, "cudaMemcpy");
            api._cudaMemcpyAsync = (delegate* unmanaged<void*, void*, nuint, int, IntPtr, int>)Export(cudart, "cudaMemcpyAsync");
            api._cudaStreamCreate = (delegate* unmanaged<IntPtr*, int>)Export(cudart, "cudaStreamCreate");
            api._cudaStreamDestroy = (delegate* unmanaged<IntPtr, int>)Export(cudart, "cudaStreamDestroy");
            api._cudaStreamSynchronize = (delegate* unmanaged<IntPtr, int>)Export(cudart, "cudaStreamSynchronize");
            api._cudaStreamQuery = (delegate* unmanaged<IntPtr, int>)Export(cudart, "cudaStreamQuery");
            api._cudaGetErrorString = (delegate* unmanaged<int, byte*>)Export(cudart, "cudaGetErrorString");
            return _loaded = api;
        }
    }

    public int GetUniqueId(Span<byte> id)
    {
        if (id.Length != NcclUniqueId.Size) throw new ArgumentException($"a unique id has {NcclUniqueId.Size} bytes", nameof(id));
        NcclUniqueId uid;
        var rc = _getUniqueId(&uid);
        new ReadOnlySpan<byte>(uid.Bytes, NcclUniqueId.Size).CopyTo(id);
        return rc;
    }

    public int CommInitRank(out IntPtr comm, int worldSize, ReadOnlySpan<byte> id, int rank)
    {
        if (id.Length != NcclUniqueId.Size) throw new ArgumentException($"a unique id has {NcclUniqueId.Size} bytes", nameof(id));
        NcclUniqueId uid;
        id.CopyTo(new Span<byte>(uid.Bytes, NcclUniqueId.Size));
        IntPtr c;
        var rc = _commInitRank(&c, worldSize, uid, rank);
        comm = c;
        return rc;
    }

    public int AllReduce(IntPtr send, IntPtr recv, nuint count, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream) =>
        _allReduce((void*)send, (void*)recv, count, (int)type, (int)op, comm, stream);

    public int Broadcast(IntPtr send, IntPtr recv, nuint count, NcclDataType type, int root, IntPtr comm, IntPtr stream) =>
        _broadcast((void*)send, (void*)recv, count, (int)type, root, comm, stream);

    public int CommAbort(IntPtr comm) => _commAbort(comm);
    public int CommDestroy(IntPtr comm) => _commDestroy(comm);

    public int CommGetAsyncError(IntPtr comm, out int asyncError)
    {
        int e;
        var rc = _commGetAsyncError(comm, &e);
        asyncError = e;
        return rc;
    }

    public int CudaSetDevice(int device) => _cudaSetDevice(device);

    public int CudaMalloc(out IntPtr devPtr, nuint bytes)
    {
        void* p;
        var rc = _cudaMalloc(&p, bytes);
        devPtr = (IntPtr)p;
        return rc;
    }

    public int CudaFree(IntPtr devPtr) => _cudaFree((void*)devPtr);
    public int CudaMemcpy(IntPtr dst, IntPtr src, nuint bytes, CudaMemcpyKind kind) => _cudaMemcpy((void*)dst, (void*)src, bytes, (int)kind);
    public int CudaMemcpyAsync(IntPtr dst, IntPtr src, nuint bytes, CudaMemcpyKind kind, IntPtr stream) => _cudaMemcpyAsync((void*)dst, (void*)src, bytes, (int)kind, stream);

    public int CudaStreamCreate(out IntPtr stream)
    {
        IntPtr s;
        var rc = _cudaStreamCreate(&s);
        stream = s;
        return rc;
    }

    public int CudaStreamDestroy(IntPtr stream) => _cudaStreamDestroy(stream);
    public int CudaStreamSynchronize(IntPtr stream) => _cudaStreamSynchronize(stream);
    public int CudaStreamQuery(IntPtr stream) => _cudaStreamQuery(stream);

    public string NcclError(int code) =>
        $"{(NcclResult)code} ({code}): {Marshal.PtrToStringUTF8((IntPtr)_getErrorString(code)) ?? "?"}";

    public string CudaErrorText(int code) =>
        $"cudaError {code}: {Marshal.PtrToStringUTF8((IntPtr)_cudaGetErrorString(code)) ?? "?"}";

    private static IntPtr TryLoadAny(string[] names)
    {
        foreach (var name in names)
            if (NativeLibrary.TryLoad(name, out var handle)) return handle;
        return IntPtr.Zero;
    }

    private static IntPtr Export(IntPtr library, string name) =>
        NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new BackendUnavailableException("NCCL", $"the loaded library does not export {name} (NCCL ≥ 2.10 and CUDA runtime 11+ are required)");
}
