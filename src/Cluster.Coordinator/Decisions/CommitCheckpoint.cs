using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>Every rank acked: write the manifest atomically; the checkpoint becomes restorable.</summary>
public sealed record CommitCheckpoint(CheckpointManifest Manifest) : CoordinatorAction;
