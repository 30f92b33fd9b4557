using Microsoft.Extensions.Logging;

namespace Cluster.Agent.Node;

/// <summary>
/// A graceful stop (SIGTERM) drains the node: for every job in which it holds ranks, the agent asks the coordinator to let
/// the node leave at the next step boundary; the others go on without rolling back and this node's ranks exit 0. A drain
/// that is refused (the others would be fewer than <c>workers.minRanks</c>, or no generation runs) or that does not end
/// within <see cref="DrainDeadline"/> falls back to stopping the ranks, which the coordinator then counts as lost.
/// </summary>
public sealed partial class NodeAgent
{
    /// <summary>How long a stopping agent waits for its drained ranks to leave (within the host's 30 s shutdown timeout).</summary>
    public static readonly TimeSpan DrainDeadline = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan DrainCallTimeout = TimeSpan.FromSeconds(5);

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var leaving = new List<Task>();
        foreach (var job in _jobs.Values.Where(j => !j.Ended))
        {
            if (await job.Voice.DrainAsync(DrainCallTimeout, cancellationToken).ConfigureAwait(false) is not { } result) continue;
            LogDrain(job.JobId, _options.NodeId, result.Accepted ? "accepted" : "refused", result.Reason);
            if (result.Accepted) leaving.Add(LeftAsync(job));
        }
        if (leaving.Count == 0) return;
        try { await Task.WhenAll(leaving).WaitAsync(DrainDeadline, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { LogDrainTimeout(_options.NodeId, DrainDeadline.TotalSeconds); }
    }

    /// <summary>The node's part of the job ended and its rank processes exited (they close the local channel a little before).</summary>
    private static async Task LeftAsync(AgentJob job)
    {
        await job.Voice.Ended.ConfigureAwait(false);
        await Task.WhenAll(job.Ranks.Select(r => r.Exited)).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "job {JobId}: node {NodeId} stops: drain {Outcome}: {Reason}")]
    private partial void LogDrain(string jobId, string nodeId, string outcome, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {NodeId}: the drained ranks did not leave within {Seconds:0} s; stopping them")]
    private partial void LogDrainTimeout(string nodeId, double seconds);
}
