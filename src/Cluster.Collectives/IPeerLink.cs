namespace Cluster.Collectives;

/// <summary>A full-duplex, non-blocking byte channel to one peer rank, already authenticated.
/// Implemented over TCP (a socket) and over shared memory (a pair of ring buffers in /dev/shm).
/// The algorithms drive every link of an operation from one thread: they call TrySend/TryReceive
/// until done and, when no link made progress, wait through <see cref="LinkWaiter"/>.</summary>
internal interface IPeerLink : IDisposable
{
    int PeerRank { get; }

    /// <summary>Copies up to data.Length bytes into the channel without blocking; returns how many (0 when full).
    /// Throws <see cref="System.IO.IOException"/> when the peer is gone.</summary>
    int TrySend(ReadOnlySpan<byte> data);

    /// <summary>Copies up to data.Length available bytes out of the channel without blocking; returns how many
    /// (0 when none are available). Throws <see cref="System.IO.IOException"/> when the peer closed or died.</summary>
    int TryReceive(Span<byte> data);

    /// <summary>The socket to poll for readiness, or null for links that are polled by spinning (shared memory).</summary>
    System.Net.Sockets.Socket? PollSocket { get; }

    /// <summary>True once the peer has closed the link or been detected dead (shared memory: its process exited).</summary>
    bool PeerGone { get; }
}
