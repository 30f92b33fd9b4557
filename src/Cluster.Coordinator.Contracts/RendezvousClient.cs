namespace Cluster.Coordinator.Contracts;

/// <summary>Worker side of the rendezvous: join once, then re-poll the bounded long-poll until assigned or the deadline passes.</summary>
public static class RendezvousClient
{
    /// <summary>Longest single poll a worker asks for (the grain caps it further).</summary>
    public static readonly TimeSpan PollSlice = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Joins <paramref name="job"/> and waits for this member's rank. Throws <see cref="InvalidOperationException"/>
    /// when the join is refused or the member is not admitted / the job ended, and <see cref="TimeoutException"/>
    /// naming the member and job after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<RankAssignment> JoinAndWaitAsync(IJobGrain job, string jobId, JoinRequest request, TimeSpan timeout,
        TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(time);
        var joined = await job.Join(request).WaitAsync(cancellationToken);
        if (!joined.Accepted) throw new InvalidOperationException($"job '{jobId}' refused the join of {joined.MemberId}: {joined.Reason}");
        var started = time.GetTimestamp();
        string? last = null;
        while (true)
        {
            var remaining = timeout - time.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
                throw new TimeoutException($"{joined.MemberId} got no rank assignment from job '{jobId}' within {timeout.TotalSeconds:0.###}s (last answer: {last ?? "none"})");
            var result = await job.WaitForAssignment(joined.MemberId, remaining < PollSlice ? remaining : PollSlice).WaitAsync(cancellationToken);
            switch (result.Status)
            {
                case AssignmentStatus.Assigned:
                    return result.Assignment!;
                case AssignmentStatus.Timeout:
                    last = result.Reason;
                    break;
                default:
                    throw new InvalidOperationException($"job '{jobId}' answered {result.Status} to {joined.MemberId}: {result.Reason}");
            }
        }
    }
}
