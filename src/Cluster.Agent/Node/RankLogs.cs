namespace Cluster.Agent.Node;

/// <summary>Where rank logs live: <c>logs/jobId/nodeId-localRank.log</c>, plus <c>logs/jobId/rank-N.log</c> links once ranks are assigned.</summary>
public static class RankLogs
{
    /// <summary>The directory of one job's logs.</summary>
    public static string JobDirectory(string logs, string jobId) => Path.Combine(logs, jobId);

    /// <summary>The log file of a member (written by the agent from the start).</summary>
    public static string MemberLog(string logs, string jobId, string nodeId, int localRank) =>
        Path.Combine(JobDirectory(logs, jobId), $"{nodeId}-{localRank}.log");

    /// <summary>The per-rank name of a log, valid once the rank is assigned.</summary>
    public static string RankLog(string logs, string jobId, int rank) => Path.Combine(JobDirectory(logs, jobId), $"rank-{rank}.log");

    /// <summary>Points rank-N.log at the member's log (replacing an older link).</summary>
    public static void Link(string logs, string jobId, int rank, string memberLog)
    {
        var link = RankLog(logs, jobId, rank);
        try
        {
            if (File.Exists(link) || new FileInfo(link).LinkTarget is not null) File.Delete(link);
            File.CreateSymbolicLink(link, Path.GetFileName(memberLog));
        }
        catch (IOException)
        {
            // another agent sharing the directory linked it first
        }
    }
}
