using System.Diagnostics;
using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Silo;

/// <summary>Plays the CLI (submit) and the rank processes (join, poll, report) against a job grain.</summary>
internal sealed class JobDriver(IJobGrain grain, JobSpecSummary spec, string secret)
{
    public IJobGrain Grain { get; } = grain;
    public JobSpecSummary Spec { get; } = spec;
    public string Secret { get; } = secret;

    public static async Task<JobDriver> SubmitAsync(IGrainFactory grains, int min, int max, long checkpointInterval = 0, string checkpointRoot = "",
        int restartBudget = 0, string specYaml = "name: test\n")
    {
        var jobId = "job-" + Guid.NewGuid().ToString("N")[..8];
        // Each job its own lineage root (checkpoint.dir/name), so no test resumes from another's checkpoints.
        var root = checkpointRoot.Length == 0 ? "" : Path.Combine(checkpointRoot, jobId);
        var spec = new JobSpecSummary(jobId, specYaml, min, max, 1, checkpointInterval, root, 2, restartBudget, 42);
        var grain = grains.GetGrain<IJobGrain>(jobId);
        var result = await grain.Submit(spec);
        Assert.True(result.Created);
        return new JobDriver(grain, spec, result.JobSecretBase64);
    }

    /// <summary>Joins node <paramref name="node"/> with one local rank listening on <paramref name="port"/>.</summary>
    public Task<JoinResult> JoinAsync(string node, int port, string? secret = null, bool admission = false) =>
        Grain.JoinNode(new NodeJoinRequest(node, "host-" + node, "127.0.0.1", [new LocalEndpoint(0, port, 4000 + port % 1000)],
            JoinProof.Compute(secret ?? Secret, Spec.JobId, node), Admission: admission));

    /// <summary>Re-polls like a node agent until assigned, fetches the peer table; returns local rank 0's assignment.</summary>
    public async Task<RankAssignment> AssignmentAsync(string memberId, TimeSpan? timeout = null)
    {
        var node = memberId.Split('/')[0];
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < limit)
        {
            var r = await Grain.WaitForNodeAssignment(node, TimeSpan.FromSeconds(1));
            if (r.Status == AssignmentStatus.Assigned)
            {
                var table = await Grain.GetPeerTable(node, r.Assignment!.Generation);
                return new NodeGeneration(r.Assignment, PeerTableCodec.Unpack(table.Packed)).For(0);
            }
            Assert.Equal(AssignmentStatus.Timeout, r.Status);
        }
        throw new TimeoutException($"{memberId} got no assignment from job {Spec.JobId} within {limit}");
    }

    public static string NodeOf(RankAssignment a) => a.Peers[a.Rank].HostId["host-".Length..];

    /// <summary>One beat of <paramref name="a"/>'s node for its local rank 0, with optional progress and vote.</summary>
    public Task<NodeBeatReply> BeatAsync(RankAssignment a, ProgressReport? progress = null, CheckpointVote? vote = null, int localRank = 0) =>
        Grain.Beat(new NodeBeat(NodeOf(a), a.Generation, [new RankBeat(localRank, a.FencingToken, progress, vote)]));

    /// <summary>The rank's view of a beat: its own reply (to progress, or to the vote) or else the node directive.</summary>
    public static ControlReply ReplyOf(NodeBeatReply reply, bool vote = false) =>
        reply.Replies.FirstOrDefault(r => r.Vote == vote)?.Reply ?? new ControlReply(reply.Directive, reply.Reason, null);

    /// <summary>Progress of <paramref name="a"/> at <paramref name="step"/>, carried by its node's beat.</summary>
    public async Task<ControlReply> ReportAsync(RankAssignment a, long step, CheckpointRequestKind kind = CheckpointRequestKind.None) =>
        ReplyOf(await BeatAsync(a, Progress(step) with { Checkpoint = kind }));

    /// <summary>A vote of <paramref name="a"/>, carried by its node's beat.</summary>
    public async Task<ControlReply> VoteAsync(RankAssignment a, CheckpointVote vote) => ReplyOf(await BeatAsync(a, vote: vote), vote: true);

    /// <summary>A plain renewal of <paramref name="a"/>'s lease; the node directive.</summary>
    public async Task<ControlReply> RenewAsync(RankAssignment a) => ReplyOf(await BeatAsync(a));

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

    public static ProgressReport Progress(long step) => new(step, 0, step * 16, 1.0 / step, 100);
}
