namespace Cluster.Coordinator.Decisions;

/// <summary>An effect produced by a decision and carried out by the job grain.</summary>
public abstract record CoordinatorAction;
