using System.Collections.Immutable;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Dynamic rendezvous (after torch.distributed.elastic): members join an open rendezvous; on quorum the
/// complete workers are sorted by node id (ordinal) and local rank, ranks are assigned in that order and
/// the generation is incremented. While a generation is active the rendezvous is closed to newcomers; a generation changes
/// without a rendezvous when it loses ranks (<see cref="RendezvousEvent.Regroup"/>) or admits a replacement
/// (<see cref="RendezvousEvent.Admit"/>). When too few survive a loss (<see cref="RendezvousEvent.Hold"/>) the survivors wait
/// as members and the next generation forms once a quorum of ranks waits, partial nodes included.
/// </summary>
public sealed class RendezvousDecider(RendezvousOptions options)
{
    private readonly RendezvousOptions _options = options.Validated();

    /// <summary>Unique, generation-monotonic token of (generation, rank); ranks present it on every call.</summary>
    public static long FencingToken(long generation, int rank) => checked(generation << 16 | (long)(ushort)rank);

    /// <summary>Applies <paramref name="evt"/> at time <paramref name="now"/>.</summary>
    public Decision<RendezvousState> Decide(RendezvousState state, RendezvousEvent evt, DateTimeOffset now) => evt switch
    {
        RendezvousEvent.Join join => OnJoin(state, join.Members, now),
        RendezvousEvent.Tick => TryStart(state, now),
        RendezvousEvent.Reopen => state.IsOpen && !state.IsHeld
            ? Decision<RendezvousState>.Reject(state, "rendezvous is already open")
            : new Decision<RendezvousState>(state with { Members = [], WaitingNodeIds = [], Ranks = [], LastJoinAt = null, Quorum = null }, []),
        RendezvousEvent.Hold hold => OnHold(state, hold.Lost, hold.Quorum),
        RendezvousEvent.Leave leave => OnLeave(state, leave.MemberId),
        RendezvousEvent.Regroup regroup => OnRegroup(state, regroup.Lost),
        RendezvousEvent.Admit admit => OnAdmit(state, admit.Members, admit.MaxRanks),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "unknown rendezvous event"),
    };

    /// <summary>Checks that a call comes from the active generation and returns the caller's slot.</summary>
    public static (RankSlot? Slot, string? Refusal) CheckFence(RendezvousState state, string memberId, long generation, long token)
    {
        if (state.IsOpen) return (null, $"no active generation (last was {state.Generation}); call from generation {generation} is stale");
        if (generation != state.Generation) return (null, $"generation {generation} is stale; current generation is {state.Generation}");
        var slot = state.SlotOf(memberId);
        if (slot is null) return (null, $"member {memberId} has no rank in generation {generation}");
        if (token != FencingToken(generation, slot.Rank)) return (null, $"fencing token {token} does not match rank {slot.Rank} of generation {generation}");
        return (slot, null);
    }

    private Decision<RendezvousState> OnJoin(RendezvousState state, IReadOnlyList<RendezvousMember> joining, DateTimeOffset now)
    {
        if (joining.Count == 0) return Decision<RendezvousState>.Reject(state, "a join needs at least one member");
        foreach (var member in joining)
        {
            if (member.LocalRank < 0 || member.LocalRank >= _options.NprocPerNode)
                return Decision<RendezvousState>.Reject(state, $"local rank {member.LocalRank} of {member.MemberId} outside 0..{_options.NprocPerNode - 1}");
        }
        if (!state.IsOpen)
        {
            return joining.All(m => state.SlotOf(m.MemberId) is not null)
                ? Decision<RendezvousState>.Unchanged(state) // retry of a join that already made it
                : Decision<RendezvousState>.Reject(state, $"rendezvous closed: generation {state.Generation} is running; {joining[0].NodeId} cannot join");
        }
        // New members are appended in O(log N) each (an immutable list, and the set of waiting node ids); a node joining
        // again replaces its entries (O(N), rare: a retry, or a coordinator that lost the waiting members).
        var members = state.Members as ImmutableList<RendezvousMember> ?? [.. state.Members];
        var nodes = state.NodeIds();
        if (joining.Any(m => nodes.Contains(m.NodeId)))
        {
            var ids = joining.Select(m => m.MemberId).ToHashSet(StringComparer.Ordinal);
            members = members.RemoveAll(m => ids.Contains(m.MemberId));
        }
        return TryStart(state with { Members = members.AddRange(joining), WaitingNodeIds = nodes.Union(joining.Select(m => m.NodeId)), LastJoinAt = now }, now);
    }

    private static Decision<RendezvousState> OnRegroup(RendezvousState state, IReadOnlyCollection<int> lost)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to regroup");
        var gone = lost.ToHashSet();
        var ranks = state.Ranks.Where(r => !gone.Contains(r.Rank)).Select((r, i) => new RankSlot(i, r.Member)).ToList();
        if (ranks.Count == 0) return Decision<RendezvousState>.Reject(state, $"generation {state.Generation} has no survivors");
        var generation = state.Generation + 1;
        var next = state with { Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, LastJoinAt = null };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }

    private static Decision<RendezvousState> OnHold(RendezvousState state, IReadOnlyCollection<int> lost, int quorum)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to hold");
        if (quorum < 1) return Decision<RendezvousState>.Reject(state, $"quorum must be >= 1 (got {quorum})");
        var gone = lost.ToHashSet();
        var waiting = state.Ranks.Where(r => !gone.Contains(r.Rank)).Select(r => r.Member).ToImmutableList();
        if (waiting.Count == 0) return Decision<RendezvousState>.Reject(state, $"generation {state.Generation} has no survivors");
        var next = state with
        {
            Ranks = [], Members = waiting, WaitingNodeIds = waiting.Select(m => m.NodeId).ToImmutableHashSet(StringComparer.Ordinal),
            LastJoinAt = null, Quorum = quorum,
        };
        return new Decision<RendezvousState>(next, []);
    }

    private static Decision<RendezvousState> OnLeave(RendezvousState state, string memberId)
    {
        if (!state.IsHeld) return Decision<RendezvousState>.Reject(state, "no survivors are waiting");
        var members = state.Members.Where(m => m.MemberId != memberId).ToImmutableList();
        if (members.Count == state.Members.Count) return Decision<RendezvousState>.Unchanged(state);
        return new Decision<RendezvousState>(state with { Members = members, WaitingNodeIds = members.Select(m => m.NodeId).ToImmutableHashSet(StringComparer.Ordinal) }, []);
    }

    private Decision<RendezvousState> OnAdmit(RendezvousState state, IReadOnlyList<RendezvousMember> joining, int maxRanks)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to admit into");
        if (joining.Count == 0) return Decision<RendezvousState>.Reject(state, "an admission needs at least one member");
        if (joining.FirstOrDefault(m => m.LocalRank < 0 || m.LocalRank >= _options.NprocPerNode) is { } outside)
            return Decision<RendezvousState>.Reject(state, $"local rank {outside.LocalRank} of {outside.MemberId} outside 0..{_options.NprocPerNode - 1}");
        var fresh = joining.Where(m => state.SlotOf(m.MemberId) is null).ToList();
        if (fresh.Count == 0) return Decision<RendezvousState>.Unchanged(state); // retry of an admission that already made it
        if ((long)state.Ranks.Count + fresh.Count > maxRanks)
            return Decision<RendezvousState>.Reject(state, $"generation {state.Generation} holds {state.Ranks.Count} rank(s); admitting {fresh.Count} more passes the maximum of {maxRanks}");
        var ranks = state.Ranks.Select(r => r.Member).Concat(fresh)
            .OrderBy(m => m.NodeId, StringComparer.Ordinal).ThenBy(m => m.LocalRank)
            .Select((m, i) => new RankSlot(i, m))
            .ToList();
        var generation = state.Generation + 1;
        var next = state with { Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, LastJoinAt = null };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }

    private Decision<RendezvousState> TryStart(RendezvousState state, DateTimeOffset now)
    {
        if (!state.IsOpen) return Decision<RendezvousState>.Unchanged(state);
        if (state.Quorum is { } quorum) return TryStartHeld(state, quorum);
        // Too few members for min workers complete nodes: no need to group them (keeps a join O(log N) until then).
        if (state.Members.Count < (long)_options.MinWorkers * _options.NprocPerNode) return Decision<RendezvousState>.Unchanged(state);
        var complete = state.Members
            .GroupBy(m => m.NodeId, StringComparer.Ordinal)
            .Where(g => g.Select(m => m.LocalRank).Distinct().Count() == _options.NprocPerNode)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        var settled = state.LastJoinAt is { } last && now - last >= _options.SettleWindow;
        if (complete.Count < _options.MinWorkers || (complete.Count < _options.MaxWorkers && !settled))
            return Decision<RendezvousState>.Unchanged(state);

        var generation = state.Generation + 1;
        var ranks = complete
            .Take(_options.MaxWorkers)
            .SelectMany(g => g.OrderBy(m => m.LocalRank))
            .Select((m, i) => new RankSlot(i, m))
            .ToList();
        var next = state with { Generation = generation, Ranks = ranks };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }

    /// <summary>Survivors and replacements: a generation as soon as <paramref name="quorum"/> wait, at most max workers × nproc ranks.</summary>
    private Decision<RendezvousState> TryStartHeld(RendezvousState state, int quorum)
    {
        if (state.Members.Count < quorum) return Decision<RendezvousState>.Unchanged(state);
        var generation = state.Generation + 1;
        var ranks = state.Members
            .OrderBy(m => m.NodeId, StringComparer.Ordinal).ThenBy(m => m.LocalRank)
            .Take(_options.MaxWorkers * _options.NprocPerNode)
            .Select((m, i) => new RankSlot(i, m))
            .ToList();
        var next = state with { Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, Quorum = null };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }
}
