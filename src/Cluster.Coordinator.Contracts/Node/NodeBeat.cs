namespace Cluster.Coordinator.Contracts;

/// <summary>
/// The one control call a node makes per beat (and at once for a checkpoint request or vote): it renews the lease of every
/// listed rank and carries their newest progress and checkpoint votes. <see cref="Ranks"/> lists only ranks the agent still
/// hears from; a rank left out is not renewed.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeBeat(string NodeId, long Generation, IReadOnlyList<RankBeat> Ranks);

/// <summary>
/// One rank's part of a <see cref="NodeBeat"/>: its fence, and new progress or a vote when there is one; its collective
/// endpoint only when the coordinator asked for it (<see cref="NodeBeatReply.SendEndpoints"/>: it restarted and lost them).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RankBeat(int LocalRank, long FencingToken, ProgressReport? Progress = null, CheckpointVote? Vote = null, LocalEndpoint? Endpoint = null);

/// <summary>
/// Reply to a <see cref="NodeBeat"/>: <see cref="Directive"/> is for the whole node (abort, fenced, regroup, with
/// <see cref="AtStepBoundary"/> as in <see cref="ControlReply"/>);
/// <see cref="Replies"/> answers, per local rank, the entries that asked something (a checkpoint request or a vote).
/// <see cref="SendEndpoints"/>: the coordinator does not know the collective endpoints of this node's ranks (it was
/// reactivated, e.g. on another silo after a node loss); the node sends them with its next beat, at once.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeBeatReply(ControlDirective Directive, string? Reason, IReadOnlyList<RankReply> Replies, bool AtStepBoundary = false,
    bool SendEndpoints = false, bool Released = false);

/// <summary>The answer to one rank's request in a <see cref="NodeBeat"/>: to its vote when <see cref="Vote"/>, else to its progress.</summary>
[GenerateSerializer, Immutable]
public sealed record RankReply(int LocalRank, ControlReply Reply, bool Vote = false);
