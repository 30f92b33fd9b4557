namespace Cluster.Agent.Grains;

/// <summary>
/// A node agent's rank logs, read from anywhere in the cluster (`cluster logs --redis`): an observer the agent registers
/// with <see cref="ILogDirectoryGrain"/>. It reads only the member logs of its own node, for a job id made of plain
/// characters, at most <see cref="LogChunk.MaxBytes"/> per call.
/// </summary>
public interface IRankLogSource : IGrainObserver
{
    /// <summary>Up to <paramref name="maxBytes"/> bytes of member <paramref name="memberId"/>'s log of job <paramref name="jobId"/>, from <paramref name="offset"/>.</summary>
    Task<LogChunk> Read(string jobId, string memberId, long offset, int maxBytes);
}
