using System.Globalization;
using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Rank;

/// <summary>What a coordinated rank process reads from its environment (set by the node agent).</summary>
public sealed record RankSettings
{
    public required string JobId { get; init; }
    public required string JobSecretBase64 { get; init; }
    public required string NodeId { get; init; }
    public required int LocalRank { get; init; }
    /// <summary>Unix socket of the node agent's local channel for this job.</summary>
    public required string AgentSocket { get; init; }
    public string AdvertiseHost { get; init; } = "127.0.0.1";
    public string HostId { get; init; } = Environment.MachineName;
    public int Threads { get; init; } = 1;
    /// <summary>How often the rank tells its agent it is alive (with its newest progress).</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Longest wait for the rank assignment (all nodes joining).</summary>
    public TimeSpan RendezvousTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public string MemberId => MemberIds.Of(NodeId, LocalRank);

    /// <summary>Reads the settings; throws <see cref="ArgumentException"/> naming the missing or bad variable.</summary>
    public static RankSettings FromEnvironment(Func<string, string?> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        string Required(string name) => get(name) is { Length: > 0 } v ? v : throw new ArgumentException($"{name} is not set (coordinated ranks are started by `cluster agent` or `cluster run`)");
        int Int(string name, string text, int min)
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min)
                throw new ArgumentException($"{name} '{text}' must be an integer >= {min}");
            return v;
        }
        var secret = Required(WorkerEnvironment.JobSecret);
        try { _ = Convert.FromBase64String(secret); }
        catch (FormatException) { throw new ArgumentException($"{WorkerEnvironment.JobSecret} is not valid base64"); }
        return new RankSettings
        {
            JobId = Required(WorkerEnvironment.JobId),
            JobSecretBase64 = secret,
            NodeId = Required(WorkerEnvironment.NodeId),
            LocalRank = Int(WorkerEnvironment.LocalRank, Required(WorkerEnvironment.LocalRank), 0),
            AgentSocket = Required(AgentEnvironment.AgentSocket),
            AdvertiseHost = get(AgentEnvironment.AdvertiseHost) is { Length: > 0 } h ? h : "127.0.0.1",
            HostId = get(AgentEnvironment.HostId) is { Length: > 0 } id ? id : Environment.MachineName,
            Threads = get(AgentEnvironment.Threads) is { Length: > 0 } t ? Int(AgentEnvironment.Threads, t, 1) : 1,
            HeartbeatInterval = get(AgentEnvironment.HeartbeatMilliseconds) is { Length: > 0 } hb
                ? TimeSpan.FromMilliseconds(Int(AgentEnvironment.HeartbeatMilliseconds, hb, 10)) : TimeSpan.FromSeconds(1),
        };
    }
}
