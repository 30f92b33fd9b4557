using Microsoft.Extensions.Logging;

namespace Cluster.Collectives;

/// <summary>Everything a rank needs to join a generation's process group.</summary>
public sealed record CommunicatorOptions
{
    public required string JobId { get; init; }
    public required long Generation { get; init; }
    public required int Rank { get; init; }
    /// <summary>One entry per rank, indexed by rank.</summary>
    public required IReadOnlyList<PeerInfo> Peers { get; init; }
    /// <summary>The job secret: peers prove they hold it (HMAC-SHA256 challenge/response).</summary>
    public required byte[] Secret { get; init; }

    public TransportKind Transport { get; init; } = TransportKind.Auto;
    /// <summary>Deadline of every single operation.</summary>
    public TimeSpan OperationTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Deadline for the whole mesh to connect and authenticate.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Opt-in: float32 all-reduce travels as bfloat16 (half the bytes, ~3 significant digits).</summary>
    public bool CompressFloat32AsBFloat16 { get; init; }
    /// <summary>Messages up to this many bytes use the latency-optimised algorithm.</summary>
    public int SmallMessageBytes { get; init; } = 64 * 1024;

    /// <summary>Ring algorithms receive and reduce in segments of at most this many bytes (pipelining granularity).</summary>
    public int SegmentBytes { get; init; } = 256 * 1024;
    /// <summary>How long a waiting operation spins (re-polling its links) before it sleeps in poll(2).</summary>
    public TimeSpan SpinBeforeBlock { get; init; } = TimeSpan.FromMicroseconds(50);
    /// <summary>Requested kernel socket buffer size (send and receive) of every TCP link.</summary>
    public int SocketBufferBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>Bytes per direction of each shared-memory link (a power of two, 4 KiB .. 256 MiB).</summary>
    public int ShmRingBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>CUDA device of this rank for <see cref="TransportKind.Nccl"/>; -1: this rank's index among the ranks of its host.</summary>
    public int CudaDevice { get; init; } = -1;
    /// <summary>Optional log sink (refused connections, failures).</summary>
    public ILogger? Logger { get; init; }
    /// <summary>Clock used for deadlines.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public int WorldSize => Peers.Count;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(JobId)) throw new ArgumentException("JobId is required.", nameof(JobId));
        if (Peers is null || Peers.Count == 0) throw new ArgumentException("Peers must list at least one rank.", nameof(Peers));
        if (Rank < 0 || Rank >= Peers.Count) throw new ArgumentOutOfRangeException(nameof(Rank), Rank, $"Rank must be in [0, {Peers.Count}).");
        for (var i = 0; i < Peers.Count; i++)
        {
            if (Peers[i].Rank != i) throw new ArgumentException($"Peers[{i}] has rank {Peers[i].Rank}; peers must be ordered by rank.", nameof(Peers));
            if (Peers[i].Port is < 0 or > 65535) throw new ArgumentException($"Peers[{i}] has invalid port {Peers[i].Port}.", nameof(Peers));
        }
        if (Secret is null || Secret.Length < 16) throw new ArgumentException("Secret must be at least 16 bytes.", nameof(Secret));
        if (OperationTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(OperationTimeout));
        if (ConnectTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ConnectTimeout));
        if (SmallMessageBytes < 0) throw new ArgumentOutOfRangeException(nameof(SmallMessageBytes));
        if (SegmentBytes < 64) throw new ArgumentOutOfRangeException(nameof(SegmentBytes), SegmentBytes, "SegmentBytes must be at least 64.");
        if (SpinBeforeBlock < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(SpinBeforeBlock));
        if (SocketBufferBytes < 0) throw new ArgumentOutOfRangeException(nameof(SocketBufferBytes));
        if (ShmRingBytes < 4096 || ShmRingBytes > 256 * 1024 * 1024 || (ShmRingBytes & (ShmRingBytes - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(ShmRingBytes), ShmRingBytes, "ShmRingBytes must be a power of two in [4 KiB, 256 MiB].");
        if (TimeProvider is null) throw new ArgumentNullException(nameof(TimeProvider));
    }
}
