using System.Collections.Immutable;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Leases renewed by node beats. A rank's first lease of a generation lasts <see cref="LivenessOptions.FirstBeatGrace"/>
/// from its start (nodes still fetch their assignment and peer table, ranks connect; a rank that dies then is reported by
/// its agent); its first renewal ends the grace (a rank that beat once and hangs lapses after one lease). A generation
/// formed by recovery gets no grace (its ranks are connected already). A lapsed lease, a non-zero
/// exit or a dead host (<see cref="LivenessEvent.HostDead"/>) loses the rank: its lease goes and the decision emits <see cref="RanksLost"/> (the recovery decider chooses
/// between going on with the survivors and failing the job). When every rank exited with 0: <see cref="CompleteJob"/>.
/// </summary>
public sealed class LivenessDecider(LivenessOptions options)
{
    private readonly LivenessOptions _options = options.Validated();

    /// <summary>Applies <paramref name="evt"/> at time <paramref name="now"/>.</summary>
    public Decision<LivenessState> Decide(LivenessState state, LivenessEvent evt, DateTimeOffset now)
    {
        if (evt is LivenessEvent.Start start)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(start.WorldSize, 1);
            var grace = start.Recovery ? now : now + _options.FirstBeatGrace;
            var first = Later(now + _options.LeaseDuration, grace);
            var leases = Enumerable.Range(0, start.WorldSize).ToDictionary(r => r, _ => first);
            return new(new LivenessState(leases.ToImmutableDictionary(), [], start.WorldSize, false, grace), []);
        }
        if (state.Failed || state.WorldSize == 0) return Decision<LivenessState>.Unchanged(state);
        switch (evt)
        {
            case LivenessEvent.Renew renew:
                if (renew.At is { } at && at.Count != renew.Ranks.Count)
                    throw new ArgumentException($"a renewal of {renew.Ranks.Count} ranks needs as many times (got {at.Count})", nameof(evt));
                var builder = state.Leases.ToBuilder();
                var renewed = 0;
                for (var i = 0; i < renew.Ranks.Count; i++)
                {
                    var rank = renew.Ranks[i];
                    if (!builder.ContainsKey(rank)) continue; // finished, or not of this generation
                    // A rank that beat once is tracked by its lease, its grace is over (renewals come in arrival order).
                    builder[rank] = (renew.At?[i] ?? now) + _options.LeaseDuration;
                    renewed++;
                }
                if (renewed == 0) return Decision<LivenessState>.Reject(state, $"ranks {string.Join(", ", renew.Ranks)} hold no lease");
                return new(state with { Leases = builder.ToImmutable() }, []);

            case LivenessEvent.Tick:
                var lapsed = state.Leases.Where(kv => kv.Value <= now).Select(kv => kv.Key).Order().ToList();
                if (lapsed.Count == 0) return Decision<LivenessState>.Unchanged(state);
                var others = lapsed.Count switch
                {
                    1 => "",
                    <= 9 => $" (also lapsed: ranks {string.Join(", ", lapsed.Skip(1))})",
                    _ => $" (also lapsed: ranks {string.Join(", ", lapsed.Skip(1).Take(8))} and {lapsed.Count - 9} more)",
                };
                var reason = $"rank {lapsed[0]} lease lapsed: no heartbeat for {_options.LeaseDuration.TotalSeconds:0.###}s{others}";
                return new(state with { Leases = state.Leases.RemoveRange(lapsed) }, [new RanksLost(lapsed, reason)]);

            case LivenessEvent.HostDead dead:
                var gone = dead.Ranks.Where(state.Leases.ContainsKey).Order().ToList();
                if (gone.Count == 0) return Decision<LivenessState>.Unchanged(state); // lost already, or finished
                return new(state with { Leases = state.Leases.RemoveRange(gone) }, [new RanksLost(gone, dead.Reason)]);

            case LivenessEvent.Exited exited:
                if (!state.Leases.ContainsKey(exited.Rank))
                    return Decision<LivenessState>.Unchanged(state); // already finished: duplicate report
                if (exited.ExitCode != 0)
                {
                    var detail = string.IsNullOrWhiteSpace(exited.Detail) ? "" : $": {exited.Detail}";
                    return new(state with { Leases = state.Leases.Remove(exited.Rank) },
                        [new RanksLost([exited.Rank], $"rank {exited.Rank} exited with code {exited.ExitCode}{detail}")]);
                }
                var next = state with { Leases = state.Leases.Remove(exited.Rank), Finished = state.Finished.Add(exited.Rank) };
                return next.Finished.Count == state.WorldSize ? new(next, [new CompleteJob()]) : new(next, []);

            default:
                throw new ArgumentOutOfRangeException(nameof(evt), evt, "unknown liveness event");
        }
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
