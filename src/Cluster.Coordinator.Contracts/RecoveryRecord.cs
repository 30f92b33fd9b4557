namespace Cluster.Coordinator.Contracts;

/// <summary>
/// One change of a running generation: generation <see cref="FromGeneration"/> lost ranks, or admitted a replacement
/// (<see cref="Admission"/>), for <see cref="Reason"/> at <see cref="DecidedAt"/>, when the lead rank had completed
/// <see cref="StepAtDecision"/> steps; the next ranks formed <see cref="ToGeneration"/> with <see cref="WorldSize"/>
/// ranks. <see cref="Seconds"/> runs from the decision to the new generation's first completed step (null until then).
/// <see cref="Restart"/>: every rank was lost; the next generation (formed by a rendezvous, <see cref="WorldSize"/> 0 until
/// it starts) restored the newest committed checkpoint.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RecoveryRecord(
    [property: Id(0)] long FromGeneration,
    [property: Id(1)] long ToGeneration,
    [property: Id(2)] string Reason,
    [property: Id(3)] DateTimeOffset DecidedAt,
    [property: Id(4)] long StepAtDecision,
    [property: Id(5)] int WorldSize,
    [property: Id(6)] double? Seconds = null,
    [property: Id(7)] long? FirstStep = null,
    [property: Id(8)] bool Admission = false,
    [property: Id(9)] bool Restart = false,
    [property: Id(10)] bool Planned = false,
    [property: Id(11)] IReadOnlyList<string>? Drained = null);
