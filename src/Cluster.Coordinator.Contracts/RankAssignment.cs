namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A rank's place in a generation, as its node agent hands it to the rank process over the local channel (built from the
/// node's <see cref="NodeAssignment"/> and the generation's peer table). The agent's calls for the rank carry
/// <see cref="Generation"/> and <see cref="FencingToken"/>; calls from a stale generation are refused.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RankAssignment(
    string JobId,
    long Generation,
    int Rank,
    int WorldSize,
    IReadOnlyList<PeerEndpoint> Peers,
    string JobSecretBase64,
    long FencingToken,
    EpochPlan EpochPlan,
    CheckpointManifest? RestoreFrom);
