namespace Cluster.Coordinator.Decisions;

/// <summary>The job fails; survivors are told to abort. <see cref="Rank"/> is the rank at fault when known.</summary>
public sealed record FailJob(string Reason, int? Rank) : CoordinatorAction;
