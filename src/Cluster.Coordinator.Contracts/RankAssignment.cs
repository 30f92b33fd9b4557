namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A member's place in a generation. Every call a rank makes afterwards carries
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
