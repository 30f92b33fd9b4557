namespace Cluster.Coordinator.Contracts;

/// <summary>Formats member ids ("node/localRank").</summary>
public static class MemberIds
{
    /// <summary>The member id of local rank <paramref name="localRank"/> on node <paramref name="nodeId"/>.</summary>
    public static string Of(string nodeId, int localRank) => $"{nodeId}/{localRank}";
}
