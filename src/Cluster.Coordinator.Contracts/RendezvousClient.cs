using Orleans.Runtime;
using Polly;
using Polly.Retry;

namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Node side of the rendezvous: join for all local ranks, re-poll the bounded long-poll until assigned or the deadline
/// passes, then fetch the generation's peer table once. Transient failures (an Orleans response timeout, a silo or
/// gateway unreachable) are retried with jittered exponential backoff inside the deadline, never a crash; a node the
/// coordinator no longer knows (it restarted during the rendezvous, which is not persisted join by join) joins again.
/// </summary>
public static class RendezvousClient
{
    /// <summary>Longest single poll a worker asks for (the grain caps it further).</summary>
    public static readonly TimeSpan PollSlice = TimeSpan.FromSeconds(10);

    private static readonly ResiliencePipeline Transient = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<TimeoutException>().Handle<OrleansException>(),
            BackoffType = DelayBackoffType.Exponential, UseJitter = true, Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = TimeSpan.FromSeconds(5), MaxRetryAttempts = int.MaxValue,
        })
        .Build();

    /// <summary>
    /// Joins <paramref name="job"/> and waits for this node's ranks and the peer table. Throws
    /// <see cref="InvalidOperationException"/> when the join is refused or the node is not admitted / the job ended, and
    /// <see cref="TimeoutException"/> naming the node and job (and the last transient error) after <paramref name="timeout"/>.
    /// </summary>
    public static Task<NodeGeneration> JoinAndWaitAsync(IJobGrain job, string jobId, NodeJoinRequest request, TimeSpan timeout,
        TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return WaitAsync(job, jobId, request.NodeId, request, after: 0, timeout, time, cancellationToken);
    }

    /// <summary>
    /// Waits, without joining, for this node's ranks in a generation after <paramref name="after"/> (elastic recovery: the
    /// coordinator regrouped the survivors) and fetches its peer table. Throws like <see cref="JoinAndWaitAsync"/>.
    /// </summary>
    public static Task<NodeGeneration> WaitForNextAsync(IJobGrain job, string jobId, string nodeId, long after, TimeSpan timeout,
        TimeProvider time, CancellationToken cancellationToken) =>
        WaitAsync(job, jobId, nodeId, null, after, timeout, time, cancellationToken);

    private static async Task<NodeGeneration> WaitAsync(IJobGrain job, string jobId, string nodeId, NodeJoinRequest? request, long after,
        TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(time);
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var started = time.GetTimestamp();
        string? last = null;
        try
        {
            if (request is not null) await JoinAsync().ConfigureAwait(false);
            while (true)
            {
                var remaining = timeout - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero) throw TimedOut();
                var slice = remaining < PollSlice ? remaining : PollSlice;
                var result = await Transient.ExecuteAsync(async ct => await Note(job.WaitForNodeAssignment(nodeId, slice).WaitAsync(ct)).ConfigureAwait(false),
                    linked.Token).ConfigureAwait(false);
                switch (result.Status)
                {
                    case AssignmentStatus.Assigned when result.Assignment!.Generation <= after:
                        last = $"still generation {result.Assignment.Generation}";
                        await Task.Delay(TimeSpan.FromMilliseconds(20), time, linked.Token).ConfigureAwait(false);
                        break;
                    case AssignmentStatus.Assigned:
                        var assignment = result.Assignment!;
                        var table = await Transient.ExecuteAsync(async ct => await Note(job.GetPeerTable(nodeId, assignment.Generation).WaitAsync(ct)).ConfigureAwait(false),
                            linked.Token).ConfigureAwait(false);
                        return new NodeGeneration(assignment, PeerTableCodec.Unpack(table.Packed));
                    case AssignmentStatus.Timeout:
                        last = result.Reason;
                        break;
                    case AssignmentStatus.NotJoined when request is not null:
                        last = result.Reason;
                        await JoinAsync().ConfigureAwait(false);
                        break;
                    default:
                        throw new InvalidOperationException($"job '{jobId}' answered {result.Status} to node {nodeId}: {result.Reason}");
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw TimedOut();
        }

        async Task JoinAsync()
        {
            var joined = await Transient.ExecuteAsync(async ct => await Note(job.JoinNode(request!).WaitAsync(ct)).ConfigureAwait(false), linked.Token)
                .ConfigureAwait(false);
            if (!joined.Accepted) throw new InvalidOperationException($"job '{jobId}' refused the join of node {joined.NodeId}: {joined.Reason}");
        }

        async Task<T> Note<T>(Task<T> call)
        {
            try { return await call.ConfigureAwait(false); }
            catch (Exception e) when (e is TimeoutException or OrleansException)
            {
                last = $"{e.GetType().Name}: {e.Message}";
                throw;
            }
        }

        TimeoutException TimedOut() =>
            new($"node {nodeId} got no rank assignment from job '{jobId}'{(after > 0 ? $" after generation {after}" : "")} within {timeout.TotalSeconds:0.###}s (last answer: {last ?? "none"})");
    }
}
