namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Outcome of <see cref="IJobGrain.Scale"/> or <see cref="IJobGrain.Drain"/>: accepted or not, and what happens (or why not).
/// <paramref name="Generation"/>: the generation formed at the step boundary, when one was.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ScaleResult(bool Accepted, string Reason, int? TargetWorkers = null, long? Generation = null);
