namespace Cluster.Coordinator.Contracts;

/// <summary>Reported by a rank (exit code 0 on normal finish) or by its node agent when the process exited.</summary>
[GenerateSerializer, Immutable]
public sealed record ProcessExitReport(string MemberId, long Generation, long FencingToken, int ExitCode, string? Detail);
