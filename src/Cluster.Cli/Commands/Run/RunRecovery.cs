using System.Text.Json.Serialization;
using Cluster.Coordinator.Contracts;

namespace Cluster.Cli.Commands.Run;

/// <summary>One change of generation in the run summary (<see cref="RecoveryRecord"/>): ranks lost, a replacement admitted, a planned resize (`cluster scale`, a drain), or a restart from the checkpoint.</summary>
public sealed record RunRecovery(
    [property: JsonPropertyName("from_generation")] long FromGeneration,
    [property: JsonPropertyName("to_generation")] long ToGeneration,
    [property: JsonPropertyName("world_size")] int WorldSize,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("seconds_to_first_step")] double? Seconds,
    [property: JsonPropertyName("decided_at")] DateTimeOffset DecidedAt,
    [property: JsonPropertyName("step_at_decision")] long StepAtDecision,
    [property: JsonPropertyName("first_step")] long? FirstStep,
    [property: JsonPropertyName("admission")] bool Admission,
    [property: JsonPropertyName("restart")] bool Restart,
    [property: JsonPropertyName("planned")] bool Planned = false)
{
    public static IReadOnlyList<RunRecovery>? Of(JobStatus status) =>
        status.Recoveries?.Select(r => new RunRecovery(r.FromGeneration, r.ToGeneration, r.WorldSize, r.Reason, r.Seconds, r.DecidedAt, r.StepAtDecision, r.FirstStep, r.Admission, r.Restart, r.Planned)).ToList();

    /// <summary>The line `cluster run` prints for it.</summary>
    public string Describe() => FormattableString.Invariant(
        $"{(Admission ? "grew" : Planned ? "resized" : Restart ? "restarted" : "recovered")} from generation {FromGeneration} to {ToGeneration} ({WorldSize} rank(s)): {Reason}; first step {(Seconds is { } s ? $"{s:F2} s" : "not reached")} after the decision");
}
