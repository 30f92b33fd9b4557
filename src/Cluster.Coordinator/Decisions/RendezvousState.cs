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
    [NonSerialized] private SlotIndex? _slots;
    [NonSerialized] private MemberIndex? _members;

    /// <summary>The slot of <paramref name="memberId"/> in the active generation, or null (O(1) after the first call).</summary>
    public RankSlot? SlotOf(string memberId) => Slots().ByMember.GetValueOrDefault(memberId);

    /// <summary>The slots of node <paramref name="nodeId"/> in the active generation, by local rank (empty when not admitted).</summary>
    public IReadOnlyList<RankSlot> SlotsOfNode(string nodeId) => Slots().ByNode.GetValueOrDefault(nodeId) ?? [];

    /// <summary>True when <paramref name="memberId"/> is among the waiting <see cref="Members"/> (O(1) after the first call).</summary>
    public bool HasMember(string memberId) => Waiting().Members.Contains(memberId);

    /// <summary>True when node <paramref name="nodeId"/> has members waiting in the rendezvous.</summary>
    public bool HasNode(string nodeId) => Waiting().Nodes.Contains(nodeId);

    private SlotIndex Slots()
    {
        if (_slots is { } s && ReferenceEquals(s.Of, Ranks)) return s;
        var byNode = Ranks.GroupBy(r => r.Member.NodeId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<RankSlot>)g.OrderBy(r => r.Member.LocalRank).ToList(), StringComparer.Ordinal);
        return _slots = new SlotIndex(Ranks, Ranks.ToDictionary(r => r.Member.MemberId, StringComparer.Ordinal), byNode);
    }

    private MemberIndex Waiting()
    {
        if (_members is { } m && ReferenceEquals(m.Of, Members)) return m;
        return _members = new MemberIndex(Members, Members.Select(x => x.MemberId).ToHashSet(StringComparer.Ordinal),
            Members.Select(x => x.NodeId).ToHashSet(StringComparer.Ordinal));
    }

    private sealed record SlotIndex(IReadOnlyList<RankSlot> Of, Dictionary<string, RankSlot> ByMember, Dictionary<string, IReadOnlyList<RankSlot>> ByNode);

    private sealed record MemberIndex(IReadOnlyList<RendezvousMember> Of, HashSet<string> Members, HashSet<string> Nodes);
}
