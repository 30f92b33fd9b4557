using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Grains;

/// <summary>Persisted state of the job directory.</summary>
[GenerateSerializer]
public sealed class JobDirectoryState
{
    /// <summary>Submitted jobs, oldest first.</summary>
    [Id(0)]
    public List<JobSpecSummary> Jobs { get; set; } = [];
}
