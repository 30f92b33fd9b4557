using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Grains;

/// <summary>
/// Node loss through Orleans membership (<see cref="JobGrain"/>): every node agent joins with the address of the silo it
/// runs in; once membership declares that silo dead (about a second with <c>MembershipTuning</c>), the node's ranks are
/// lost at once instead of after their leases. A node without a silo (or one membership never declares dead: a cut link
/// to a silo that the others cannot reach either) is still lost when its leases lapse.
/// </summary>
public sealed partial class JobGrain
{
    private MembershipVersion _seenMembership = MembershipVersion.MinValue;
    private DateTimeOffset _endpointsDue;

    private async Task LoseDeadSilosAsync(DateTimeOffset now)
    {
        if (membership is null || _rv.Ranks.Count == 0) return;
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version == _seenMembership) return;
        var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead)
            .Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var lost = dead.Count == 0 ? [] : _rv.Ranks.Where(r => r.Member.Silo is { } s && dead.Contains(s) && _leases.Leases.ContainsKey(r.Rank)).ToList();
        // A reactivated coordinator first learns the survivors' collective endpoints from their beats (they regroup on them);
        // it waits for them at most one lease.
        if (lost.Count > 0 && now < _endpointsDue && _rv.Ranks.Any(r => r.Member.Port == 0 && !lost.Contains(r))) return;
        _seenMembership = snapshot.Version;
        if (lost.Count == 0) return;
        var nodes = lost.Select(r => r.Member.NodeId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var reason = $"node {string.Join(", ", nodes)} lost: silo {lost[0].Member.Silo} declared dead by Orleans membership";
        var decision = _liveness!.Decide(_leases, new LivenessEvent.HostDead([.. lost.Select(r => r.Rank)], reason), now);
        _leases = decision.State;
        await ApplyAsync(decision.Actions);
    }
}
