using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Grains;

namespace Cluster.Agent.Grains;

/// <summary>Persisted (same storage as the job grains) list of submitted jobs.</summary>
internal sealed class JobDirectoryGrain(
    [PersistentState("directory", JobGrain.StorageName)] IPersistentState<JobDirectoryState> store) : Grain, IJobDirectoryGrain
{
    public async Task Add(JobSpecSummary spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (store.State.Jobs.Any(j => j.JobId == spec.JobId)) return;
        store.State.Jobs.Add(spec);
        if (store.State.Jobs.Count > JobDirectory.Capacity) store.State.Jobs.RemoveAt(0);
        await store.WriteStateAsync();
    }

    public Task<IReadOnlyList<JobSpecSummary>> List() => Task.FromResult<IReadOnlyList<JobSpecSummary>>(store.State.Jobs.ToList());

    public Task<JobSpecSummary?> Get(string jobId) => Task.FromResult(store.State.Jobs.FirstOrDefault(j => j.JobId == jobId));
}
