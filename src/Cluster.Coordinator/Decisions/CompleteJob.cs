namespace Cluster.Coordinator.Decisions;

/// <summary>Every rank of the generation finished cleanly.</summary>
public sealed record CompleteJob : CoordinatorAction;
