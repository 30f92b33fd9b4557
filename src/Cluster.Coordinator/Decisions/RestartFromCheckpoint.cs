namespace Cluster.Coordinator.Decisions;

/// <summary>Every rank is lost and restarts remain: the rendezvous reopens and the next generation restores the newest committed checkpoint.</summary>
public sealed record RestartFromCheckpoint(string Reason) : CoordinatorAction;
