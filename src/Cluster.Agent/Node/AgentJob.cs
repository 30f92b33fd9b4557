using Cluster.Agent.Local;

namespace Cluster.Agent.Node;

/// <summary>The ranks one agent started for one job, and the node's voice and local channel for them.</summary>
internal sealed class AgentJob(string jobId, NodeVoice voice, LocalChannelServer channel)
{
    public string JobId { get; } = jobId;
    public NodeVoice Voice { get; } = voice;
    public LocalChannelServer Channel { get; } = channel;
    public List<RankProcess> Ranks { get; } = [];
    /// <summary>Global rank per member id, once the generation is known (for the rank-N.log links).</summary>
    public Dictionary<string, int> Linked { get; } = [];
    /// <summary>Set when the job reached a terminal state and the ranks were told to go.</summary>
    public bool Ended { get; set; }
    public bool AllExited => Ranks.All(r => r.Exited.IsCompleted);
}
