namespace Cluster.Coordinator.Contracts;

/// <summary>
/// A node agent joining the job's rendezvous for all of its ranks in one call. <see cref="Proof"/> is
/// <see cref="JoinProof.Compute"/> over the job secret; the secret itself never travels in a join. Joining again
/// (a retry, or a coordinator that lost the waiting members) replaces the node's entries. <see cref="Admission"/>: a
/// replacement of a lost rank, admitted only into a running generation (never a rendezvous member). <see cref="Silo"/>: the
/// silo the agent runs in (<c>SiloAddress.ToParsableString()</c>), or null; when Orleans membership declares it dead, the
/// node's ranks are lost at once (at most <see cref="MaxSiloLength"/> characters).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeJoinRequest(string NodeId, string HostId, string AdvertisedHost, IReadOnlyList<LocalEndpoint> Ranks, string Proof, bool Admission = false,
    string? Silo = null)
{
    /// <summary>Longest silo address a join may carry.</summary>
    public const int MaxSiloLength = 256;
}
