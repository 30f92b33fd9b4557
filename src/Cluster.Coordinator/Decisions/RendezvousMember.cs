namespace Cluster.Coordinator.Decisions;

/// <summary>A process waiting in (or admitted by) the rendezvous; <see cref="Silo"/>: its node agent's silo, when it has one.</summary>
[GenerateSerializer, Immutable]
public sealed record RendezvousMember(
    string MemberId,
    string NodeId,
    int LocalRank,
    string HostId,
    string Host,
    int Port,
    int Pid,
    DateTimeOffset JoinedAt,
    string? Silo = null);
