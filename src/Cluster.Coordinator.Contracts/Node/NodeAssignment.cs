namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A node's place in a generation: the global rank of each of its local ranks. It does not carry the peer table (that is
/// O(world) and would make a rendezvous O(nodes × world)): the agent fetches it once per generation with
/// <see cref="IJobGrain.GetPeerTable"/>. <paramref name="Spares"/>: the node's local ranks that wait as spares outside the
/// generation (<c>workers.maxRanks</c>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeAssignment(
    string JobId,
    long Generation,
    int WorldSize,
    IReadOnlyList<LocalSlot> Slots,
    string JobSecretBase64,
    EpochPlan EpochPlan,
    CheckpointManifest? RestoreFrom,
    IReadOnlyList<int>? Spares = null);

/// <summary>Reply to <see cref="IJobGrain.WaitForNodeAssignment"/>; never blocks longer than the wait asked for.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeAssignmentResult(AssignmentStatus Status, NodeAssignment? Assignment, string? Reason);
