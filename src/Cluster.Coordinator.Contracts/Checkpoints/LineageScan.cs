namespace Cluster.Coordinator.Contracts.Checkpoints;

/// <summary>
/// What a lineage root holds: the committed checkpoints that can be restored (oldest first; the newest verified byte for
/// byte), the highest checkpoint id seen in any directory (new ids continue after it) and why newer ones were skipped.
/// </summary>
public sealed record LineageScan(IReadOnlyList<CheckpointManifest> Committed, long LastCheckpointId, IReadOnlyList<string> Skipped)
{
    /// <summary>Nothing on disk.</summary>
    public static LineageScan Empty => new([], 0, []);

    /// <summary>The checkpoint a resume starts from, or null.</summary>
    public CheckpointManifest? Latest => Committed.Count == 0 ? null : Committed[^1];
}
