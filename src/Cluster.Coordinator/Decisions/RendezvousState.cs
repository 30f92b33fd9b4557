namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Rendezvous of one job. <see cref="Generation"/> is the last generation started (0 = none; monotonic).
/// While <see cref="Ranks"/> is empty the rendezvous is open and <see cref="Members"/> are waiting.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RendezvousState(
    long Generation,
    IReadOnlyList<RendezvousMember> Members,
    IReadOnlyList<RankSlot> Ranks,
    DateTimeOffset? LastJoinAt)
{
    /// <summary>No members, no generation. A fresh instance each time: JSON storage serializers may populate
    /// an existing instance in place, so a shared static default could be overwritten.</summary>
    public static RendezvousState Empty => new(0, [], [], null);

    /// <summary>True while no generation is active.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsOpen => Ranks.Count == 0;

    /// <summary>The slot of <paramref name="memberId"/> in the active generation, or null.</summary>
    public RankSlot? SlotOf(string memberId)
    {
        foreach (var slot in Ranks)
            if (slot.Member.MemberId == memberId) return slot;
        return null;
    }
}
