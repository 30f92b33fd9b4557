namespace Cluster.Collectives;

/// <summary>Base of every failure of a collective operation. Names the operation, the generation and,
/// where known, the peer rank that failed.</summary>
public class CollectiveException : Exception
{
    public CollectiveException(string operation, long generation, int? peerRank, string message, Exception? inner = null)
        : base(Format(operation, generation, peerRank, message), inner)
    {
        Operation = operation;
        Generation = generation;
        PeerRank = peerRank;
    }

    public string Operation { get; }
    public long Generation { get; }
    public int? PeerRank { get; }

    private static string Format(string operation, long generation, int? peer, string message) =>
        peer is { } p
            ? $"{operation} failed in generation {generation} (peer rank {p}): {message}"
            : $"{operation} failed in generation {generation}: {message}";
}

/// <summary>A peer closed its connection, died, or sent something invalid.</summary>
public sealed class PeerFailedException(string operation, long generation, int peerRank, string message, Exception? inner = null)
    : CollectiveException(operation, generation, peerRank, message, inner);

/// <summary>The operation's deadline passed while waiting for <see cref="CollectiveException.PeerRank"/>.</summary>
public sealed class CollectiveTimeoutException(string operation, long generation, int? peerRank, TimeSpan timeout)
    : CollectiveException(operation, generation, peerRank, $"no progress within the {timeout.TotalSeconds:0.###} s deadline");

/// <summary><see cref="ICommunicator.Abort"/> was called (locally or, when the link broke, by a peer).</summary>
public sealed class CommunicatorAbortedException(string operation, long generation, string reason)
    : CollectiveException(operation, generation, null, $"communicator aborted: {reason}");

/// <summary>A peer could not prove it holds the job secret or belongs to this job and generation.</summary>
public sealed class AuthenticationFailedException(string operation, long generation, int? peerRank, string message)
    : CollectiveException(operation, generation, peerRank, message);

/// <summary>A requested backend (NCCL, CUDA) is not usable on this machine.</summary>
public sealed class BackendUnavailableException(string backend, string message, Exception? inner = null)
    : Exception($"{backend} backend unavailable: {message}", inner)
{
    public string Backend { get; } = backend;
}
