namespace Cluster.Agent.Grains;

/// <summary>
/// Where each node's rank logs can be read (key 0): agents register their <see cref="IRankLogSource"/> when they start
/// and again every <see cref="RefreshInterval"/>; kept in memory only (after a failover every agent is back within that
/// interval).
/// </summary>
public interface ILogDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>How often an agent registers again.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(15);

    Task Register(string nodeId, IRankLogSource source);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<IRankLogSource?> Find(string nodeId);
}
