namespace Cluster.Collectives.Nccl;

/// <summary>ncclUniqueId: 128 opaque bytes (NCCL_UNIQUE_ID_BYTES), passed by value to ncclCommInitRank.</summary>
internal unsafe struct NcclUniqueId
{
    public const int Size = 128;
    public fixed byte Bytes[Size];
}

/// <summary>Values of ncclResult_t in nccl.h.</summary>
internal enum NcclResult
{
    Success = 0,
    UnhandledCudaError = 1,
    SystemError = 2,
    InternalError = 3,
    InvalidArgument = 4,
    InvalidUsage = 5,
    RemoteError = 6,
    InProgress = 7,
}

/// <summary>Values of ncclDataType_t in nccl.h.</summary>
internal enum NcclDataType
{
    Int8 = 0,
    Uint8 = 1,
    Int32 = 2,
    Uint32 = 3,
    Int64 = 4,
    Uint64 = 5,
    Float16 = 6,
    Float32 = 7,
    Float64 = 8,
    Bfloat16 = 9,
}

/// <summary>Values of ncclRedOp_t in nccl.h (ncclAvg needs NCCL ≥ 2.10).</summary>
internal enum NcclRedOp
{
    Sum = 0,
    Prod = 1,
    Max = 2,
    Min = 3,
    Avg = 4,
}

/// <summary>Values of cudaMemcpyKind in driver_types.h.</summary>
internal enum CudaMemcpyKind
{
    HostToHost = 0,
    HostToDevice = 1,
    DeviceToHost = 2,
    DeviceToDevice = 3,
    Default = 4,
}

internal static class CudaError
{
    public const int Success = 0;
    /// <summary>cudaErrorNotReady: cudaStreamQuery's "work still pending".</summary>
    public const int NotReady = 600;
}
