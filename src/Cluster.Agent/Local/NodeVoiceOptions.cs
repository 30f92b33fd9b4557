namespace Cluster.Agent.Local;

/// <summary>Settings of a <see cref="NodeVoice"/>: who the node is and how often it speaks.</summary>
public sealed record NodeVoiceOptions
{
    public required string NodeId { get; init; }
    public required string HostId { get; init; }
    public required string AdvertiseHost { get; init; }

    /// <summary>The node's silo (<c>SiloAddress.ToParsableString()</c>) when the agent runs in one: the job grain treats the
    /// node's ranks as lost as soon as Orleans membership declares that silo dead. Null: only the leases tell.</summary>
    public string? Silo { get; init; }

    /// <summary>How often the node beats for its ranks (the job grain's lease is a few beats).</summary>
    public TimeSpan BeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A rank not heard from for this long is left out of the beats, so its lease lapses at the coordinator.</summary>
    public TimeSpan RankSilentAfter { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Longest wait for the node's ranks to attach and for the assignment.</summary>
    public TimeSpan RendezvousTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Without one successful beat for this long, the ranks are told to stop (the coordinator is unreachable).</summary>
    public TimeSpan CoordinatorLostAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public NodeVoiceOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(NodeId)) throw new ArgumentException("NodeId is required");
        if (BeatInterval <= TimeSpan.Zero) throw new ArgumentException($"BeatInterval must be > 0 (got {BeatInterval})");
        if (RankSilentAfter < BeatInterval) throw new ArgumentException($"RankSilentAfter must be >= BeatInterval (got {RankSilentAfter})");
        if (RendezvousTimeout <= TimeSpan.Zero) throw new ArgumentException($"RendezvousTimeout must be > 0 (got {RendezvousTimeout})");
        if (CoordinatorLostAfter <= BeatInterval) throw new ArgumentException($"CoordinatorLostAfter must be > BeatInterval (got {CoordinatorLostAfter})");
        return this;
    }
}
