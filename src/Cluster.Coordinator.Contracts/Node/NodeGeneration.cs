namespace Cluster.Coordinator.Contracts;

/// <summary>What a node agent holds for a generation: its assignment and the unpacked peer table (sorted by rank).</summary>
public sealed record NodeGeneration(NodeAssignment Assignment, IReadOnlyList<PeerEndpoint> Peers)
{
    /// <summary>The full assignment of local rank <paramref name="localRank"/>, as the rank process receives it.</summary>
    public RankAssignment For(int localRank)
    {
        var slot = Assignment.Slots.FirstOrDefault(s => s.LocalRank == localRank)
            ?? throw new InvalidOperationException($"local rank {localRank} has no rank in generation {Assignment.Generation}");
        return new RankAssignment(Assignment.JobId, Assignment.Generation, slot.Rank, Assignment.WorldSize, Peers, Assignment.JobSecretBase64,
            slot.FencingToken, Assignment.EpochPlan, Assignment.RestoreFrom);
    }
}
