namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Environment variables a node agent sets for each rank process it launches. The secret reaches ranks only
/// this way (never on a command line); ranks prove it to the coordinator with <see cref="JoinProof"/>.
/// </summary>
public static class WorkerEnvironment
{
    /// <summary>Job id (the job grain's key).</summary>
    public const string JobId = "CLUSTER_JOB_ID";
    /// <summary>Base64 job secret from <see cref="SubmitResult"/>.</summary>
    public const string JobSecret = "CLUSTER_JOB_SECRET";
    /// <summary>Stable id of the node agent (sort key for rank assignment).</summary>
    public const string NodeId = "CLUSTER_NODE_ID";
    /// <summary>Local rank of the process on its node (0..nprocPerNode-1).</summary>
    public const string LocalRank = "CLUSTER_LOCAL_RANK";
    /// <summary>Orleans gateway endpoints of the coordinator, "host:port[,host:port]".</summary>
    public const string Coordinator = "CLUSTER_COORDINATOR";
}
