namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A rank process asking to join the job's rendezvous. <see cref="Proof"/> is
/// <see cref="JoinProof.Compute"/> over the job secret; the secret itself never travels in a join.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record JoinRequest(
    string NodeId,
    string HostId,
    string AdvertisedHost,
    int ListenPort,
    int Pid,
    int LocalRank,
    string Proof)
{
    /// <summary>Stable member id: node id and local rank.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string MemberId => MemberIds.Of(NodeId, LocalRank);
}
