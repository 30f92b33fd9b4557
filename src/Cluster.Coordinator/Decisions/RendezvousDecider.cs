using System.Collections.Immutable;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Dynamic rendezvous (after torch.distributed.elastic): members join an open rendezvous; on quorum the
/// complete workers are sorted by node id (ordinal) and local rank, ranks are assigned in that order and
/// the generation is incremented. While a generation is active the rendezvous is closed to newcomers; a generation changes
/// without a rendezvous when it loses ranks (<see cref="RendezvousEvent.Regroup"/>) or admits a replacement
/// (<see cref="RendezvousEvent.Admit"/>). When too few survive a loss (<see cref="RendezvousEvent.Hold"/>) the survivors wait
/// as members and the next generation forms once a quorum of ranks waits, partial nodes included. A generation holds at
/// most <see cref="RendezvousOptions.RankLimit"/> ranks (<c>workers.maxRanks</c>); the other members of its nodes, and
/// replacements that find it full, wait as <see cref="RendezvousState.Spares"/> and fill the places of lost ranks at once.
/// </summary>
public sealed partial class RendezvousDecider(RendezvousOptions options)
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
            : new Decision<RendezvousState>(state with { Members = [], WaitingNodeIds = [], Ranks = [], LastJoinAt = null, Quorum = null, Spares = [] }, []),
        RendezvousEvent.Hold hold => OnHold(state, hold.Lost, hold.Quorum),
        RendezvousEvent.Leave leave => OnLeave(state, leave.MemberId),
        RendezvousEvent.Regroup regroup => OnRegroup(state, regroup.Lost),
        RendezvousEvent.Admit admit => OnAdmit(state, admit.Members),
        RendezvousEvent.Scale scale => OnScale(state, scale.Workers),
        RendezvousEvent.Drain drain => OnDrain(state, drain.NodeIds),
        _ => throw new ArgumentOutOfRangeException(nameof(evt), evt, "unknown rendezvous event"),
    };

    /// <summary>Checks that a call comes from the active generation and returns the caller's slot.</summary>
    public static (RankSlot? Slot, string? Refusal) CheckFence(RendezvousState state, string memberId, long generation, long token)
    {
        if (GenerationRefusal(state, generation) is { } stale) return (null, stale);
        if (state.SlotOf(memberId) is not { } slot) return (null, NoSlotRefusal(memberId, generation));
        return TokenRefusal(slot, generation, token) is { } refusal ? (null, refusal) : (slot, null);
    }

    /// <summary>Why a call from <paramref name="generation"/> is stale, or null when it is the active generation.</summary>
    public static string? GenerationRefusal(RendezvousState state, long generation) =>
        state.IsOpen ? $"no active generation (last was {state.Generation}); call from generation {generation} is stale"
        : generation != state.Generation ? $"generation {generation} is stale; current generation is {state.Generation}"
        : null;

    /// <summary>The refusal of a call from <paramref name="memberId"/>, which holds no rank in <paramref name="generation"/>.</summary>
    public static string NoSlotRefusal(string memberId, long generation) => $"member {memberId} has no rank in generation {generation}";

    /// <summary>Why a call with <paramref name="token"/> does not speak for <paramref name="slot"/>, or null when it does.</summary>
    public static string? TokenRefusal(RankSlot slot, long generation, long token) =>
        token != FencingToken(generation, slot.Rank) ? $"fencing token {token} does not match rank {slot.Rank} of generation {generation}" : null;

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

    private Decision<RendezvousState> OnRegroup(RendezvousState state, IReadOnlyCollection<int> lost)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to regroup");
        var gone = lost.ToHashSet();
        var survivors = state.Ranks.Where(r => !gone.Contains(r.Rank)).Select(r => r.Member).ToList();
        // Waiting spares take the lost places at once, after the survivors (who keep their order, so rank 0 holds state).
        var taken = state.Spares.Take(Math.Max(0, LimitOf(state) - survivors.Count)).ToList();
        var ranks = survivors.Concat(taken).Select((m, i) => new RankSlot(i, m)).ToList();
        if (ranks.Count == 0) return Decision<RendezvousState>.Reject(state, $"generation {state.Generation} has no survivors");
        var generation = state.Generation + 1;
        var next = state with
        {
            Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, LastJoinAt = null,
            Spares = [.. state.Spares.Skip(taken.Count)],
        };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }

    private static Decision<RendezvousState> OnHold(RendezvousState state, IReadOnlyCollection<int> lost, int quorum)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to hold");
        if (quorum < 1) return Decision<RendezvousState>.Reject(state, $"quorum must be >= 1 (got {quorum})");
        var gone = lost.ToHashSet();
        // The spares wait with the survivors (both keep their processes).
        var waiting = state.Ranks.Where(r => !gone.Contains(r.Rank)).Select(r => r.Member).Concat(state.Spares).ToImmutableList();
        if (waiting.Count == 0) return Decision<RendezvousState>.Reject(state, $"generation {state.Generation} has no survivors");
        var next = state with
        {
            Ranks = [], Members = waiting, WaitingNodeIds = waiting.Select(m => m.NodeId).ToImmutableHashSet(StringComparer.Ordinal),
            LastJoinAt = null, Quorum = quorum, Spares = [],
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

    private Decision<RendezvousState> OnAdmit(RendezvousState state, IReadOnlyList<RendezvousMember> joining)
    {
        if (state.IsOpen) return Decision<RendezvousState>.Reject(state, "no active generation to admit into");
        if (joining.Count == 0) return Decision<RendezvousState>.Reject(state, "an admission needs at least one member");
        if (joining.FirstOrDefault(m => m.LocalRank < 0 || m.LocalRank >= _options.NprocPerNode) is { } outside)
            return Decision<RendezvousState>.Reject(state, $"local rank {outside.LocalRank} of {outside.MemberId} outside 0..{_options.NprocPerNode - 1}");
        var fresh = joining.Where(m => state.SlotOf(m.MemberId) is null).ToList();
        if (fresh.Count == 0) return Decision<RendezvousState>.Unchanged(state); // retry of an admission that already made it
        // A spare joining again (its process was restarted) replaces its old entry: the new process listens elsewhere.
        var ids = fresh.Select(m => m.MemberId).ToHashSet(StringComparer.Ordinal);
        var spares = state.Spares.Where(m => !ids.Contains(m.MemberId)).ToList();
        var limit = LimitOf(state);
        var room = Math.Max(0, limit - state.Ranks.Count);
        var entering = fresh.Take(room).ToList();
        // The generation is full: they wait as spares, but only on a node that holds ranks of it (so spares stay bounded
        // by the generation's nodes, and a node of spares only is not taken in: it would never be assigned).
        var waiting = fresh.Skip(room).ToList();
        if (waiting.Any(m => state.SlotsOfNode(m.NodeId).Count == 0))
            return Decision<RendezvousState>.Reject(state, $"generation {state.Generation} holds {state.Ranks.Count} rank(s); admitting {fresh.Count} more passes the maximum of {limit}");
        spares.AddRange(waiting);
        if (entering.Count == 0) return new Decision<RendezvousState>(state with { Spares = spares }, []);
        var ranks = state.Ranks.Select(r => r.Member).Concat(entering)
            .OrderBy(m => m.NodeId, StringComparer.Ordinal).ThenBy(m => m.LocalRank)
            .Select((m, i) => new RankSlot(i, m))
            .ToList();
        var generation = state.Generation + 1;
        var next = state with { Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, LastJoinAt = null, Spares = spares };
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
        var limit = LimitOf(state);
        var maxNodes = state.TargetWorkers ?? _options.MaxWorkers;
        var full = complete.Count >= maxNodes || (long)complete.Count * _options.NprocPerNode >= limit;
        if (complete.Count < _options.MinWorkers || (!full && !settled))
            return Decision<RendezvousState>.Unchanged(state);

        var generation = state.Generation + 1;
        // Only the nodes the generation needs (no node of spares only); their ranks beyond the limit wait as spares.
        var nodes = (int)Math.Min(Math.Min(complete.Count, maxNodes), ((long)limit + _options.NprocPerNode - 1) / _options.NprocPerNode);
        var admitted = complete.Take(nodes).SelectMany(g => g.OrderBy(m => m.LocalRank)).ToList();
        var ranks = admitted.Take(limit).Select((m, i) => new RankSlot(i, m)).ToList();
        var next = state with { Generation = generation, Ranks = ranks, Spares = [.. admitted.Skip(limit)] };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }

    /// <summary>Survivors and replacements: a generation as soon as <paramref name="quorum"/> wait, at most the rank limit; the rest are spares.</summary>
    private Decision<RendezvousState> TryStartHeld(RendezvousState state, int quorum)
    {
        if (state.Members.Count < quorum) return Decision<RendezvousState>.Unchanged(state);
        var generation = state.Generation + 1;
        var ordered = state.Members.OrderBy(m => m.NodeId, StringComparer.Ordinal).ThenBy(m => m.LocalRank).ToList();
        var ranks = ordered.Take(LimitOf(state)).Select((m, i) => new RankSlot(i, m)).ToList();
        var next = state with
        {
            Generation = generation, Ranks = ranks, Members = [.. ranks.Select(r => r.Member)], WaitingNodeIds = null, Quorum = null,
            Spares = [.. ordered.Skip(ranks.Count)],
        };
        return new Decision<RendezvousState>(next, [new StartGeneration(generation, ranks)]);
    }
}
