using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// Checkpoint consensus of one job: the last id issued, the open checkpoint (if any), and the committed
/// checkpoints still kept (oldest first).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record CheckpointState(
    long LastCheckpointId,
    long LastOpenedStep,
    PendingCheckpoint? Pending,
    IReadOnlyList<CheckpointManifest> Committed)
{
    /// <summary>Nothing opened yet (fresh instance each time; see <see cref="RendezvousState.Empty"/>).</summary>
    public static CheckpointState Empty => new(0, 0, null, []);

    /// <summary>Newest committed checkpoint, or null.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CheckpointManifest? Latest => Committed.Count == 0 ? null : Committed[^1];
}
