namespace Cluster.Coordinator.Contracts;

/// <summary>Formats member ids ("node/localRank").</summary>
public static class MemberIds
{
    /// <summary>The member id of local rank <paramref name="localRank"/> on node <paramref name="nodeId"/>.</summary>
    public static string Of(string nodeId, int localRank) => $"{nodeId}/{localRank}";

    /// <summary>The node id of member <paramref name="memberId"/> (everything before the last '/').</summary>
    public static string NodeOf(string memberId)
    {
        ArgumentNullException.ThrowIfNull(memberId);
        var slash = memberId.LastIndexOf('/');
        return slash < 0 ? memberId : memberId[..slash];
    }
}
