using System.Collections.Immutable;

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
    /// <summary>
    /// Node ids among <see cref="Members"/>, kept up to date by the decider join by join (O(log N) each); null when the
    /// record came from elsewhere (then derived from <see cref="Members"/> once).
    /// </summary>
    [Id(4)] public ImmutableHashSet<string>? WaitingNodeIds { get; init; }

    /// <summary>
    /// Set while the survivors of a loss wait below the minimum (<see cref="RendezvousEvent.Hold"/>): the next generation
    /// forms as soon as this many members wait, partial nodes included; null for a rendezvous of whole nodes.
    /// </summary>
    [Id(5)] public int? Quorum { get; init; }

    /// <summary>
    /// Members beyond the active generation's size (<c>workers.maxRanks</c>): the other ranks of its nodes, and replacements
    /// that found it full. They keep their processes and wait; a loss takes them into the next generation at once.
    /// </summary>
    [Id(6)] public IReadOnlyList<RendezvousMember> Spares { get; init; } = [];

    /// <summary>
    /// The worker nodes the operator asked for (`cluster scale`, within <c>workers.min</c>..<c>workers.max</c>); null:
    /// <c>workers.max</c>. A generation holds at most this many nodes' ranks (and never more than <c>workers.maxRanks</c>).
    /// </summary>
    [Id(7)] public int? TargetWorkers { get; init; }

    /// <summary>The local ranks of node <paramref name="nodeId"/> that wait as spares (O(spares)).</summary>
    public IReadOnlyList<int> SparesOfNode(string nodeId) => [.. Spares.Where(m => m.NodeId == nodeId).Select(m => m.LocalRank).Order()];

    /// <summary>True while survivors wait for replacements (<see cref="Quorum"/> set).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsHeld => IsOpen && Quorum is not null;

    /// <summary>No members, no generation. A fresh instance each time: JSON storage serializers may populate
    /// an existing instance in place, so a shared static default could be overwritten.</summary>
    public static RendezvousState Empty => new(0, [], [], null);

    /// <summary>True while no generation is active.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsOpen => Ranks.Count == 0;

    // Lookup indexes built once per list instance (not serialized). Keyed by the list they index: `with` copies these
    // fields, so an index is only used while its list is still the one in the record.
    [NonSerialized] private SlotIndex? _slots;
    [NonSerialized] private (IReadOnlyList<RendezvousMember> Of, ImmutableHashSet<string> Set)? _derivedNodes;

    /// <summary>The slot of <paramref name="memberId"/> in the active generation, or null (O(1) after the first call).</summary>
    public RankSlot? SlotOf(string memberId) => Slots().ByMember.GetValueOrDefault(memberId);

    /// <summary>The slots of node <paramref name="nodeId"/> in the active generation, by local rank (empty when not admitted).</summary>
    public IReadOnlyList<RankSlot> SlotsOfNode(string nodeId) => Slots().ByNode.GetValueOrDefault(nodeId) ?? [];

    /// <summary>
    /// The active generation with the collective endpoints of node <paramref name="nodeId"/>'s ranks set (a restarted
    /// coordinator learns them again from the node's beat); the same instance when nothing changes.
    /// </summary>
    public RendezvousState WithEndpoints(string nodeId, IReadOnlyList<Contracts.LocalEndpoint> endpoints)
    {
        var slots = SlotsOfNode(nodeId);
        var changed = endpoints.Where(e => e.Port is > 0 and <= 65535 && slots.Any(s => s.Member.LocalRank == e.LocalRank && (s.Member.Port, s.Member.Pid) != (e.Port, e.Pid)))
            .ToDictionary(e => e.LocalRank);
        if (changed.Count == 0) return this;
        return this with
        {
            Ranks = [.. Ranks.Select(r => r.Member.NodeId == nodeId && changed.TryGetValue(r.Member.LocalRank, out var e)
                ? r with { Member = r.Member with { Port = e.Port, Pid = e.Pid } } : r)],
        };
    }

    /// <summary>True when node <paramref name="nodeId"/> has members waiting in the rendezvous (O(1)).</summary>
    public bool HasNode(string nodeId) => NodeIds().Contains(nodeId);

    /// <summary>The waiting node ids (<see cref="WaitingNodeIds"/>, or derived once from <see cref="Members"/>).</summary>
    public ImmutableHashSet<string> NodeIds()
    {
        if (WaitingNodeIds is { } known) return known;
        if (_derivedNodes is not { } d || !ReferenceEquals(d.Of, Members))
            _derivedNodes = d = (Members, Members.Select(m => m.NodeId).ToImmutableHashSet(StringComparer.Ordinal));
        return d.Set;
    }

    private SlotIndex Slots()
    {
        if (_slots is { } s && ReferenceEquals(s.Of, Ranks)) return s;
        var byNode = Ranks.GroupBy(r => r.Member.NodeId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<RankSlot>)g.OrderBy(r => r.Member.LocalRank).ToList(), StringComparer.Ordinal);
        return _slots = new SlotIndex(Ranks, Ranks.ToDictionary(r => r.Member.MemberId, StringComparer.Ordinal), byNode);
    }

    private sealed record SlotIndex(IReadOnlyList<RankSlot> Of, Dictionary<string, RankSlot> ByMember, Dictionary<string, IReadOnlyList<RankSlot>> ByNode);
}
