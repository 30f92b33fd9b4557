using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// What the job grain persists of its rendezvous: the last generation started and, while it runs, one entry per node (not
/// per rank): written once per generation, so a rendezvous persists O(nodes) bytes whatever the ranks per node. Waiting
/// members, collective ports and pids are soft state like the leases: a waiting node joins again after a coordinator
/// restart, and a restarted coordinator cannot re-form a running generation's data plane anyway.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record GenerationRecord(
    [property: Id(0)] long Generation,
    [property: Id(1)] IReadOnlyList<NodeRecord> Nodes)
{
    /// <summary>The persisted form of <paramref name="state"/>.</summary>
    public static GenerationRecord Of(RendezvousState state) =>
        new(state.Generation, state.Ranks
            .GroupBy(r => r.Member.NodeId, StringComparer.Ordinal)
            .Select(g =>
            {
                var first = g.MinBy(r => r.Rank)!;
                var locals = g.OrderBy(r => r.Rank).Select(r => r.Member.LocalRank).ToList();
                // A node that lost ranks (recovery) keeps the local ranks it has left: they are listed.
                var contiguous = locals.Select((l, i) => l == i).All(x => x);
                return new NodeRecord(g.Key, first.Member.HostId, first.Member.Host, first.Rank, g.Count()) { LocalRanks = contiguous ? null : locals, Silo = first.Member.Silo };
            })
            .OrderBy(n => n.FirstRank)
            .ToList());

    /// <summary>The rendezvous state this record stands for (ports and pids unknown: 0).</summary>
    public RendezvousState ToState() =>
        new(Generation, [], Nodes.SelectMany(n => (n.LocalRanks ?? Enumerable.Range(0, n.Ranks).ToList()).Select((local, i) =>
            new RankSlot(n.FirstRank + i, new RendezvousMember(MemberIds.Of(n.NodeId, local), n.NodeId, local, n.HostId, n.Host, 0, 0, default, n.Silo)))).ToList(), null);
}

/// <summary>
/// A node of a running generation: its local ranks 0..<see cref="Ranks"/>-1 (or <see cref="LocalRanks"/>, when the node
/// lost some) hold global ranks from <see cref="FirstRank"/> on.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeRecord(
    [property: Id(0)] string NodeId,
    [property: Id(1)] string HostId,
    [property: Id(2)] string Host,
    [property: Id(3)] int FirstRank,
    [property: Id(4)] int Ranks)
{
    /// <summary>The node's local ranks in rank order when they are not 0..Ranks-1 (null otherwise; older builds never wrote it).</summary>
    [Id(5)] public IReadOnlyList<int>? LocalRanks { get; init; }

    /// <summary>The node agent's silo, when it has one (older builds never wrote it): a restarted coordinator still sees the node's silo die.</summary>
    [Id(6)] public string? Silo { get; init; }
}
