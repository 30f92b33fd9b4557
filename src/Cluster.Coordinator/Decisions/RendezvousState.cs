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

    // Lookup indexes built once per list instance (not serialized). Keyed by the list they index: `with` copies these
    // fields, so an index is only used while its list is still the one in the record.
    [NonSerialized] private (IReadOnlyList<RankSlot> Of, Dictionary<string, RankSlot> Index)? _slots;
    [NonSerialized] private (IReadOnlyList<RendezvousMember> Of, HashSet<string> Index)? _members;

    /// <summary>The slot of <paramref name="memberId"/> in the active generation, or null (O(1) after the first call).</summary>
    public RankSlot? SlotOf(string memberId)
    {
        if (_slots is not { } s || !ReferenceEquals(s.Of, Ranks))
            _slots = s = (Ranks, Ranks.ToDictionary(r => r.Member.MemberId, StringComparer.Ordinal));
        return s.Index.GetValueOrDefault(memberId);
    }

    /// <summary>True when <paramref name="memberId"/> is among the waiting <see cref="Members"/> (O(1) after the first call).</summary>
    public bool HasMember(string memberId)
    {
        if (_members is not { } m || !ReferenceEquals(m.Of, Members))
            _members = m = (Members, Members.Select(x => x.MemberId).ToHashSet(StringComparer.Ordinal));
        return m.Index.Contains(memberId);
    }
}
