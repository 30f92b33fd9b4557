using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>A committed checkpoint fell out of the keep-last-K window: delete it.</summary>
public sealed record PruneCheckpoint(CheckpointManifest Manifest) : CoordinatorAction;
