namespace Cluster.Agent.Node;

/// <summary>The ranks one agent started for one job.</summary>
internal sealed class AgentJob(string jobId)
{
    public string JobId { get; } = jobId;
    public List<RankProcess> Ranks { get; } = [];
    /// <summary>Global rank per member id, once the generation is known (for the rank-N.log links).</summary>
    public Dictionary<string, int> Linked { get; } = [];
    /// <summary>Set when the job reached a terminal state and the ranks were told to go.</summary>
    public bool Ended { get; set; }
    public bool AllExited => Ranks.All(r => r.Exited.IsCompleted);
}
