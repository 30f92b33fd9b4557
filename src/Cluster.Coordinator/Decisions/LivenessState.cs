using System.Collections.Immutable;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Rank leases of the active generation (kept in memory: renewals are not persisted; after a grain
/// reactivation leases are granted afresh). <see cref="Finished"/> ranks exited cleanly and hold no lease. No first lease
/// ends before <see cref="GraceUntil"/> (the generation's start plus <see cref="LivenessOptions.FirstBeatGrace"/>).
/// </summary>
public sealed record LivenessState(
    ImmutableDictionary<int, DateTimeOffset> Leases,
    ImmutableHashSet<int> Finished,
    int WorldSize,
    bool Failed,
    DateTimeOffset GraceUntil = default)
{
    /// <summary>No generation tracked.</summary>
    public static LivenessState Empty => new(ImmutableDictionary<int, DateTimeOffset>.Empty, [], 0, false);
}
