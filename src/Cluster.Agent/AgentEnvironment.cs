namespace Cluster.Agent;

/// <summary>
/// Environment variables a node agent sets for its rank processes in addition to
/// <see cref="Cluster.Coordinator.Contracts.WorkerEnvironment"/> (job id, secret, node id, local rank, gateway).
/// </summary>
public static class AgentEnvironment
{
    /// <summary>Address peers reach this rank's collective listener at.</summary>
    public const string AdvertiseHost = "CLUSTER_ADVERTISE_HOST";
    /// <summary>Host identity: ranks with equal ids use shared memory between each other.</summary>
    public const string HostId = "CLUSTER_HOST_ID";
    /// <summary>Orleans cluster id of the coordinator the rank's client connects to.</summary>
    public const string ClusterId = "CLUSTER_ORLEANS_CLUSTER_ID";
    /// <summary>Orleans service id of the coordinator.</summary>
    public const string ServiceId = "CLUSTER_ORLEANS_SERVICE_ID";
    /// <summary>Intra-op threads of the rank's TorchSharp.</summary>
    public const string Threads = "CLUSTER_THREADS";
    /// <summary>Unix socket of the node agent's local channel for the rank's job.</summary>
    public const string AgentSocket = "CLUSTER_AGENT_SOCKET";
    /// <summary>How often a rank tells its agent it is alive, in milliseconds (default 1000).</summary>
    public const string HeartbeatMilliseconds = "CLUSTER_HEARTBEAT_MS";
}
