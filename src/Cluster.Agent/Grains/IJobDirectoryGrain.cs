using Cluster.Coordinator.Contracts;

namespace Cluster.Agent.Grains;

/// <summary>
/// The list of submitted jobs (single grain, key <see cref="JobDirectory.Key"/>). `cluster submit` adds a job;
/// node agents poll it to find jobs to start ranks for; ranks read their job's spec from it.
/// </summary>
public interface IJobDirectoryGrain : IGrainWithStringKey
{
    /// <summary>Adds (or keeps) a job; idempotent for the same job id.</summary>
    Task Add(JobSpecSummary spec);

    /// <summary>All known jobs, oldest first.</summary>
    Task<IReadOnlyList<JobSpecSummary>> List();

    /// <summary>The spec of one job, or null.</summary>
    Task<JobSpecSummary?> Get(string jobId);
}
