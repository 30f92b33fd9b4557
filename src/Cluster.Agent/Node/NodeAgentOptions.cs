namespace Cluster.Agent.Node;

/// <summary>Settings of a node agent (one per host, hosted in that host's silo).</summary>
public sealed record NodeAgentOptions
{
    /// <summary>Stable node id: the rendezvous sorts nodes by it to assign ranks.</summary>
    public required string NodeId { get; init; }

    /// <summary>Address other hosts reach this host's ranks at (collective listeners).</summary>
    public string AdvertiseHost { get; init; } = "127.0.0.1";

    /// <summary>Host identity passed to ranks (equal ids share memory).</summary>
    public string HostId { get; init; } = Environment.MachineName;

    /// <summary>Most rank processes this node runs for one job; a job whose nprocPerNode exceeds it is skipped.</summary>
    public int NprocPerNode { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Rank logs go to <c>LogsDirectory/jobId/nodeId-localRank.log</c> (plus a <c>rank-N.log</c> link once ranked).</summary>
    public required string LogsDirectory { get; init; }

    /// <summary>Gateway endpoint ranks connect their Orleans client to, "host:port".</summary>
    public required string Gateway { get; init; }

    /// <summary>Orleans cluster id ranks use.</summary>
    public required string ClusterId { get; init; }

    /// <summary>Orleans service id ranks use.</summary>
    public required string ServiceId { get; init; }

    /// <summary>Executable that runs a rank, and the arguments before any others (e.g. dotnet cluster.dll worker --coordinated).</summary>
    public required IReadOnlyList<string> WorkerCommand { get; init; }

    /// <summary>How often the agent looks for new jobs and for aborted ones.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the agent beats to each job grain for all its ranks (the grain's lease is a few beats).</summary>
    public TimeSpan BeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Folder of the local channels' Unix sockets (mode 0700); short, since a socket path has at most 107 bytes.</summary>
    public string SocketDirectory { get; init; } = Path.Combine(Path.GetTempPath(), $"cluster-agent-{Environment.ProcessId}");

    /// <summary>Extra environment variables for every rank (e.g. test hooks).</summary>
    public IReadOnlyDictionary<string, string> ExtraEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value; returns this.</summary>
    public NodeAgentOptions Validated()
    {
        if (string.IsNullOrWhiteSpace(NodeId) || NodeId.Contains('/') || NodeId.Any(char.IsControl))
            throw new ArgumentException($"NodeId '{NodeId}' must be non-empty without '/' or control characters");
        if (string.IsNullOrWhiteSpace(AdvertiseHost)) throw new ArgumentException("AdvertiseHost is required");
        if (string.IsNullOrWhiteSpace(HostId)) throw new ArgumentException("HostId is required");
        if (NprocPerNode is < 1 or > 1024) throw new ArgumentException($"NprocPerNode must be 1..1024 (got {NprocPerNode})");
        if (string.IsNullOrWhiteSpace(LogsDirectory)) throw new ArgumentException("LogsDirectory is required");
        if (string.IsNullOrWhiteSpace(Gateway) || !Gateway.Contains(':')) throw new ArgumentException($"Gateway '{Gateway}' must be host:port");
        if (WorkerCommand is null || WorkerCommand.Count == 0) throw new ArgumentException("WorkerCommand is required");
        if (BeatInterval <= TimeSpan.Zero || BeatInterval > TimeSpan.FromSeconds(10)) throw new ArgumentException($"BeatInterval must be in (0, 10s] (got {BeatInterval})");
        if (string.IsNullOrWhiteSpace(SocketDirectory) || SocketDirectory.Length > 80) throw new ArgumentException($"SocketDirectory '{SocketDirectory}' must be set and at most 80 characters (socket paths are limited)");
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentException($"PollInterval must be > 0 (got {PollInterval})");
        return this;
    }
}
