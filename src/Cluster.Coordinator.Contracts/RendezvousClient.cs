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
    public static async Task<NodeGeneration> JoinAndWaitAsync(IJobGrain job, string jobId, NodeJoinRequest request, TimeSpan timeout,
        TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(time);
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        var started = time.GetTimestamp();
        string? last = null;
        try
        {
            await JoinAsync().ConfigureAwait(false);
            while (true)
            {
                var remaining = timeout - time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero) throw TimedOut();
                var slice = remaining < PollSlice ? remaining : PollSlice;
                var result = await Transient.ExecuteAsync(async ct => await Note(job.WaitForNodeAssignment(request.NodeId, slice).WaitAsync(ct)).ConfigureAwait(false),
                    linked.Token).ConfigureAwait(false);
                switch (result.Status)
                {
                    case AssignmentStatus.Assigned:
                        var assignment = result.Assignment!;
                        var table = await Transient.ExecuteAsync(async ct => await Note(job.GetPeerTable(request.NodeId, assignment.Generation).WaitAsync(ct)).ConfigureAwait(false),
                            linked.Token).ConfigureAwait(false);
                        return new NodeGeneration(assignment, PeerTableCodec.Unpack(table.Packed));
                    case AssignmentStatus.Timeout:
                        last = result.Reason;
                        break;
                    case AssignmentStatus.NotJoined:
                        last = result.Reason;
                        await JoinAsync().ConfigureAwait(false);
                        break;
                    default:
                        throw new InvalidOperationException($"job '{jobId}' answered {result.Status} to node {request.NodeId}: {result.Reason}");
                }
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw TimedOut();
        }

        async Task JoinAsync()
        {
            var joined = await Transient.ExecuteAsync(async ct => await Note(job.JoinNode(request).WaitAsync(ct)).ConfigureAwait(false), linked.Token)
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
            new($"node {request.NodeId} got no rank assignment from job '{jobId}' within {timeout.TotalSeconds:0.###}s (last answer: {last ?? "none"})");
    }
}
