using System.Diagnostics;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Silo;

/// <summary>Plays the CLI (submit) and the rank processes (join, poll, report) against a job grain.</summary>
internal sealed class JobDriver(IJobGrain grain, JobSpecSummary spec, string secret)
{
    public IJobGrain Grain { get; } = grain;
    public JobSpecSummary Spec { get; } = spec;
    public string Secret { get; } = secret;

    public static async Task<JobDriver> SubmitAsync(IGrainFactory grains, int min, int max, long checkpointInterval = 0, string checkpointRoot = "")
    {
        var jobId = "job-" + Guid.NewGuid().ToString("N")[..8];
        // Each job its own lineage root (checkpoint.dir/name), so no test resumes from another's checkpoints.
        var root = checkpointRoot.Length == 0 ? "" : Path.Combine(checkpointRoot, jobId);
        var spec = new JobSpecSummary(jobId, "name: test\n", min, max, 1, checkpointInterval, root, 2, 0, 42);
        var grain = grains.GetGrain<IJobGrain>(jobId);
        var result = await grain.Submit(spec);
        Assert.True(result.Created);
        return new JobDriver(grain, spec, result.JobSecretBase64);
    }

    public Task<JoinResult> JoinAsync(string node, int port, string? secret = null) =>
        Grain.Join(new JoinRequest(node, "host-" + node, "127.0.0.1", port, 4000 + port % 1000, 0,
            JoinProof.Compute(secret ?? Secret, Spec.JobId, node, 0)));

    /// <summary>Re-polls like a worker until assigned; fails naming the member after <paramref name="timeout"/>.</summary>
    public async Task<RankAssignment> AssignmentAsync(string memberId, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var r = await Grain.WaitForAssignment(memberId, TimeSpan.FromSeconds(1));
            if (r.Status == AssignmentStatus.Assigned) return r.Assignment!;
            Assert.Equal(AssignmentStatus.Timeout, r.Status);
        }
        throw new TimeoutException($"{memberId} got no assignment from job {Spec.JobId} within {limit}");
    }

    /// <summary>Polls status until <paramref name="done"/> holds; fails naming <paramref name="what"/> and the last status.</summary>
    public async Task<JobStatus> WaitForStatusAsync(Func<JobStatus, bool> done, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        JobStatus status;
        while (!done(status = await Grain.GetStatus()))
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"job {Spec.JobId}: '{what}' not reached within {limit}; last status {status.State} ({status.FailureReason})");
            await Task.Delay(20);
        }
        return status;
    }

    public static Heartbeat Beat(RankAssignment a) => new($"{a.Peers[a.Rank].HostId["host-".Length..]}/0", a.Generation, a.FencingToken);

    public static ProgressReport Progress(RankAssignment a, long step) =>
        new(Beat(a).MemberId, a.Generation, a.FencingToken, step, 0, step * 16, 1.0 / step, 100);
}
