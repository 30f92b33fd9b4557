namespace Cluster.Collectives;

public enum TransportKind
{
    /// <summary>Shared memory between ranks with the same host identity, TCP otherwise.</summary>
    Auto,
    Tcp,
    /// <summary>Shared memory only: every peer must report this rank's host identity.</summary>
    Shm,
    /// <summary>NCCL on CUDA devices (needs libnccl.so.2 and a GPU; fails at once otherwise).</summary>
    Nccl,
}
