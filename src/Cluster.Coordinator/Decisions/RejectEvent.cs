namespace Cluster.Coordinator.Decisions;

/// <summary>The event was invalid in the current state; nothing changed.</summary>
public sealed record RejectEvent(string Reason) : CoordinatorAction;
