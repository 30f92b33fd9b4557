namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Planned changes of the world size (<see cref="RendezvousDecider"/>): the operator's worker count
/// (<see cref="RendezvousEvent.Scale"/>) and nodes that leave (<see cref="RendezvousEvent.Drain"/>). Both form the next
/// generation from ranks that all reach the same step boundary, so nothing is rolled back.
/// </summary>
public sealed partial class RendezvousDecider
{
    /// <summary>Most ranks a generation of <paramref name="state"/> holds: <c>workers.maxRanks</c>, or fewer when scaled down.</summary>
    public int LimitOf(RendezvousState state) =>
        state.TargetWorkers is { } workers ? (int)Math.Min(_options.RankLimit, (long)workers * _options.NprocPerNode) : _options.RankLimit;

    private Decision<RendezvousState> OnScale(RendezvousState state, int workers)
    {
        if (workers < _options.MinWorkers || workers > _options.MaxWorkers)
            return Decision<RendezvousState>.Reject(state, $"workers must be within workers.min..workers.max ({_options.MinWorkers}..{_options.MaxWorkers}); got {workers}");
        var next = state with { TargetWorkers = workers };
        if (state.IsOpen) return new Decision<RendezvousState>(next, []); // the rendezvous forms with at most that many nodes
        var limit = LimitOf(next);
        if (state.Ranks.Count > limit)
        {
            // The last nodes in rank order leave (rank 0's node stays), whole nodes, until the rest fits.
            var nodes = state.Ranks.Select(r => r.Member.NodeId).Distinct(StringComparer.Ordinal).ToList();
            var leaving = new List<string>();
            var count = state.Ranks.Count;
            for (var i = nodes.Count - 1; i > 0 && (count > limit || nodes.Count - leaving.Count > workers); i--)
            {
                leaving.Add(nodes[i]);
                count -= state.SlotsOfNode(nodes[i]).Count;
            }
            return Without(next, leaving);
        }
        if (state.Ranks.Count < limit && state.Spares.Count > 0)
        {
            var entering = state.Spares.Take(limit - state.Ranks.Count).ToList();
            var ranks = state.Ranks.Select(r => r.Member).Concat(entering)
                .OrderBy(m => m.NodeId, StringComparer.Ordinal).ThenBy(m => m.LocalRank)
                .Select((m, i) => new RankSlot(i, m)).ToList();
            return Started(next with { Spares = [.. state.Spares.Skip(entering.Count)] }, ranks);
        }
        return new Decision<RendezvousState>(next, []); // agents that join later are admitted up to the new count
    }

    private Decision<RendezvousState> OnDrain(RendezvousState state, IReadOnlyCollection<string> nodeIds)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to drain from");
        var known = nodeIds.Where(n => state.SlotsOfNode(n).Count > 0).ToList();
        if (known.Count == 0) return Decision<RendezvousState>.Reject(state, $"node {string.Join(", ", nodeIds)} holds no rank in generation {state.Generation}");
        return Without(state, known);
    }

    /// <summary>The next generation without the ranks (and spares) of <paramref name="leaving"/>; the others keep their order.</summary>
    private Decision<RendezvousState> Without(RendezvousState state, IReadOnlyCollection<string> leaving)
    {
        if (leaving.Count == 0) return new Decision<RendezvousState>(state, []);
        var gone = leaving.ToHashSet(StringComparer.Ordinal);
        var ranks = state.Ranks.Where(r => !gone.Contains(r.Member.NodeId)).Select((r, i) => new RankSlot(i, r.Member)).ToList();
        if (ranks.Count < _options.RankFloor)
            return Decision<RendezvousState>.Reject(state,
                $"without node {string.Join(", ", leaving)} generation {state.Generation} keeps {ranks.Count} rank(s), fewer than workers.minRanks ({_options.RankFloor})");
        return Started(state with { Spares = [.. state.Spares.Where(m => !gone.Contains(m.NodeId))] }, ranks);
    }

    private static Decision<RendezvousState> Started(RendezvousState state, List<RankSlot> ranks)
    {
        var generation = state.Generation + 1;
        var next = state with { Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, LastJoinAt = null };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }
}
