using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Silo;

public sealed class JobGrainTests(CoordinatorClusterFixture fx) : IClassFixture<CoordinatorClusterFixture>
{
    private IGrainFactory Grains => fx.Cluster.Client;

    private async Task<(JobDriver Job, RankAssignment A, RankAssignment B)> RunningJobAsync(long checkpointInterval = 0, int restartBudget = 0,
        string specYaml = "name: test\n")
    {
        var job = await JobDriver.SubmitAsync(Grains, 2, 2, checkpointInterval, fx.CheckpointRoot, restartBudget, specYaml);
        Assert.True((await job.JoinAsync("nodeB", 29501)).Accepted);
        Assert.True((await job.JoinAsync("nodeA", 29500)).Accepted);
        var a = await job.AssignmentAsync("nodeA/0");
        var b = await job.AssignmentAsync("nodeB/0");
        return (job, a, b);
    }

    [Fact]
    public async Task TwoMembersGetTheSameGenerationDisjointRanksAndTheSecret()
    {
        var (job, a, b) = await RunningJobAsync();
        Assert.Equal(1, a.Generation);
        Assert.Equal(a.Generation, b.Generation);
        Assert.Equal((0, 1), (a.Rank, b.Rank)); // sorted by node id, not join order
        Assert.Equal(2, a.WorldSize);
        Assert.Equal(a.Peers, b.Peers);
        Assert.Equal([29500, 29501], a.Peers.Select(p => p.Port));
        Assert.Equal(job.Secret, a.JobSecretBase64);
        Assert.NotEqual(a.FencingToken, b.FencingToken);
        var status = await job.Grain.GetStatus();
        Assert.Equal(JobState.Running, status.State);
        Assert.Equal(["nodeA/0", "nodeB/0"], status.Ranks.Select(r => r.MemberId));

        Assert.False((await job.JoinAsync("nodeC", 29502)).Accepted); // closed while running
        foreach (var x in new[] { a, b })
            await job.Grain.ReportExit(new ProcessExitReport(MemberIds.Of(JobDriver.NodeOf(x), 0), x.Generation, x.FencingToken, 0, null));
        Assert.Equal(JobState.Completed, (await job.Grain.GetStatus()).State);
    }

    [Fact]
    public async Task JoinWithWrongSecretOrAnotherNodesProofIsRefused()
    {
        var job = await JobDriver.SubmitAsync(Grains, 1, 1);
        var wrong = await job.JoinAsync("nodeA", 29500, Convert.ToBase64String(new byte[32]));
        Assert.False(wrong.Accepted);
        Assert.Contains("proof", wrong.Reason);
        var replay = await job.Grain.JoinNode(new NodeJoinRequest("nodeX", "h", "127.0.0.1", [new LocalEndpoint(0, 1, 1)], JoinProof.Compute(job.Secret, job.Spec.JobId, "nodeA")));
        Assert.False(replay.Accepted);
        var status = await job.Grain.GetStatus();
        Assert.Equal(JobState.Pending, status.State);
        Assert.Equal(0, status.WaitingMembers);
        Assert.Equal(AssignmentStatus.NotJoined, (await job.Grain.WaitForNodeAssignment("nodeA", TimeSpan.FromMilliseconds(100))).Status);
    }

    [Fact]
    public async Task LongPollReturnsTimeoutInsteadOfHanging()
    {
        var job = await JobDriver.SubmitAsync(Grains, 2, 2);
        Assert.True((await job.JoinAsync("nodeA", 29500)).Accepted);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var r = await job.Grain.WaitForNodeAssignment("nodeA", TimeSpan.FromMinutes(5)); // capped by MaxLongPoll (2 s)
        Assert.Equal(AssignmentStatus.Timeout, r.Status);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        Assert.Equal(JobState.Rendezvous, (await job.Grain.GetStatus()).State);
        var cancelled = await job.Grain.Cancel("test over");
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal(AssignmentStatus.Aborted, (await job.Grain.WaitForNodeAssignment("nodeA", TimeSpan.FromSeconds(1))).Status);
    }

    [Fact]
    public async Task HeartbeatLapseFailsTheJobNamingTheRankAndSurvivorsAreToldToAbort()
    {
        var (job, a, b) = await RunningJobAsync();
        fx.Time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(ControlDirective.Continue, (await job.RenewAsync(a)).Directive);
        fx.Time.Advance(TimeSpan.FromSeconds(3)); // rank 1 silent for 6 s > 5 s lease; rank 0 for 3 s
        var failed = await job.WaitForStatusAsync(s => s.State.IsTerminal(), "job fails after rank 1's lease lapses");
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains("rank 1 lease lapsed", failed.FailureReason);
        var reply = await job.RenewAsync(a);
        Assert.Equal(ControlDirective.Abort, reply.Directive);
        Assert.Contains("rank 1", reply.Reason);
        Assert.Equal(AssignmentStatus.Aborted, (await job.Grain.WaitForNodeAssignment("nodeA", TimeSpan.FromSeconds(1))).Status);
    }

    [Fact]
    public async Task A_node_joining_a_running_job_is_admitted_into_the_next_generation_and_the_active_ranks_regroup_at_a_step_boundary()
    {
        var job = await JobDriver.SubmitAsync(Grains, 1, 2);
        Assert.True((await job.JoinAsync("nodeB", 29501)).Accepted); // no settle window here: generation 1 of one rank
        var b1 = await job.AssignmentAsync("nodeB/0");
        Assert.Equal((1L, 1), (b1.Generation, b1.WorldSize));

        Assert.True((await job.JoinAsync("nodeA", 29500)).Accepted); // the admission
        var status = await job.Grain.GetStatus();
        Assert.Equal((2L, JobState.Recovering), (status.Generation, status.State));
        var record = status.Recoveries![^1];
        Assert.Equal((1L, 2L, 2, true, "admitted nodeA/0"), (record.FromGeneration, record.ToGeneration, record.WorldSize, record.Admission, record.Reason));
        // Generation 1 is told to end at a step boundary, by a beat and by the held directive call.
        var beat = await job.BeatAsync(b1, JobDriver.Progress(3));
        Assert.Equal((ControlDirective.Regroup, true), (beat.Directive, beat.AtStepBoundary));
        var held = await job.Grain.WaitForDirective("nodeB", 1, TimeSpan.FromSeconds(1));
        Assert.Equal((ControlDirective.Regroup, true), (held.Directive, held.AtStepBoundary));
        var a2 = await job.AssignmentAsync("nodeA/0");
        var b2 = await job.AssignmentAsync("nodeB/0");
        Assert.Equal((2L, 2, 0, 1), (a2.Generation, a2.WorldSize, a2.Rank, b2.Rank)); // rendezvous order: the newcomer is rank 0
        Assert.Equal([29500, 29501], a2.Peers.Select(p => p.Port));
        // A loss of generation 2 is an abort-style regroup again; here the first step of generation 2 ends the admission.
        Assert.Equal(ControlDirective.Continue, (await job.ReportAsync(b2, 4)).Directive);
        Assert.Equal(JobState.Running, (await job.Grain.GetStatus()).State);
        var full = await job.JoinAsync("nodeC", 29502);
        Assert.False(full.Accepted);
        Assert.Contains("passes the maximum of 2", full.Reason);
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task Below_the_minimum_the_survivor_waits_for_its_replacement_and_fails_the_job_when_the_wait_runs_out()
    {
        var (job, a1, b1) = await RunningJobAsync(restartBudget: 3, specYaml: "name: test\nrestart: { waitSeconds: 5 }\n");
        Assert.Equal(ControlDirective.Continue, (await job.ReportAsync(a1, 3)).Directive);

        // Rank 1 dies: one survivor is below workers.minRanks (2 × 1): it stops and waits, no generation of one rank runs.
        var exit = await job.Grain.ReportExit(new ProcessExitReport("nodeB/0", 1, b1.FencingToken, 137, "killed"));
        Assert.Equal(ControlDirective.Continue, exit.Directive); // node B has no survivor to regroup; its agent restarts the rank
        var status = await job.Grain.GetStatus();
        Assert.Equal((JobState.Recovering, 1L, 1, 0), (status.State, status.Generation, status.WaitingMembers, status.Ranks.Count));
        Assert.Contains("fewer than workers.minRanks 2: waiting up to 5 s for replacements", status.Recoveries![^1].Reason);
        var beat = await job.BeatAsync(a1, JobDriver.Progress(4));
        Assert.Equal((ControlDirective.Regroup, false), (beat.Directive, beat.AtStepBoundary)); // abort the collectives now
        Assert.Equal(ControlDirective.Regroup, (await job.Grain.WaitForDirective("nodeA", 1, TimeSpan.FromSeconds(1))).Directive);
        Assert.Equal(AssignmentStatus.Timeout, (await job.Grain.WaitForNodeAssignment("nodeA", TimeSpan.FromMilliseconds(200))).Status);

        // Its replacement asks for admission: generation 2 forms with both, in rendezvous order.
        Assert.True((await job.JoinAsync("nodeB", 29511, admission: true)).Accepted);
        var a2 = await job.AssignmentAsync("nodeA/0");
        var b2 = await job.AssignmentAsync("nodeB/0");
        Assert.Equal((2L, 2, 0, 1), (a2.Generation, a2.WorldSize, a2.Rank, b2.Rank));
        Assert.Equal([29500, 29511], a2.Peers.Select(p => p.Port));
        Assert.Equal(ControlDirective.Continue, (await job.ReportAsync(b2, 4)).Directive);
        status = await job.Grain.GetStatus();
        Assert.Equal(JobState.Running, status.State);
        var record = Assert.Single(status.Recoveries!);
        Assert.Equal((1L, 2L, 2, false), (record.FromGeneration, record.ToGeneration, record.WorldSize, record.Admission));
        Assert.NotNull(record.Seconds);

        // Rank 0 dies and nobody replaces it: after restart.waitSeconds the job fails, listing both failures.
        await job.Grain.ReportExit(new ProcessExitReport("nodeA/0", 2, a2.FencingToken, 1, "boom"));
        Assert.Equal(JobState.Recovering, (await job.Grain.GetStatus()).State);
        fx.Time.Advance(TimeSpan.FromSeconds(6));
        var failed = await job.WaitForStatusAsync(s => s.State.IsTerminal(), "the wait for a replacement runs out");
        Assert.Equal(JobState.Failed, failed.State);
        Assert.Contains("1 rank(s) waited 5 s (restart.waitSeconds) and the job did not regain workers.minRanks 2", failed.FailureReason);
        Assert.Contains("failures: 1) rank 1 exited with code 137: killed; 2) rank 0 exited with code 1: boom", failed.FailureReason);
    }

    [Fact]
    public async Task A_waiting_survivor_that_exits_leaves_no_rank_and_the_job_restarts_from_its_checkpoint()
    {
        var (job, a1, b1) = await RunningJobAsync(restartBudget: 3, specYaml: "name: test\nrestart: { waitSeconds: 60 }\n");
        await job.Grain.ReportExit(new ProcessExitReport("nodeB/0", 1, b1.FencingToken, 137, "killed"));
        Assert.Equal(1, (await job.Grain.GetStatus()).WaitingMembers);
        // An exit report for the waiting survivor with another token (not its own of generation 1) changes nothing.
        await job.Grain.ReportExit(new ProcessExitReport("nodeA/0", 1, b1.FencingToken, 137, "forged"));
        Assert.Equal((JobState.Recovering, 1), ((await job.Grain.GetStatus()).State, (await job.Grain.GetStatus()).WaitingMembers));
        await job.Grain.ReportExit(new ProcessExitReport("nodeA/0", 1, a1.FencingToken, 137, "killed too"));
        var status = await job.Grain.GetStatus();
        Assert.Equal((JobState.Rendezvous, 0), (status.State, status.WaitingMembers));
        Assert.True(status.Recoveries![^1].Restart);
        Assert.Contains("nodeA/0 exited with code 137 while it waited for replacements; no rank left", status.Recoveries[^1].Reason);
        // A replacement asking for admission now is refused: the job starts over by a rendezvous.
        Assert.False((await job.JoinAsync("nodeB", 29511, admission: true)).Accepted);
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task A_node_whose_ranks_keep_failing_is_on_probation_and_its_replacement_is_refused_while_another_node_is_admitted()
    {
        var (job, _, b1) = await RunningJobAsync(restartBudget: 5,
            specYaml: "name: test\nworkers: { minRanks: 1 }\nrestart: { probationFailures: 1, probationMinutes: 5 }\n");
        await job.Grain.ReportExit(new ProcessExitReport("nodeB/0", 1, b1.FencingToken, 137, "killed"));
        Assert.Equal((JobState.Recovering, 2L), ((await job.Grain.GetStatus()).State, (await job.Grain.GetStatus()).Generation));

        var refused = await job.JoinAsync("nodeB", 29511, admission: true);
        Assert.False(refused.Accepted);
        Assert.Matches(@"node nodeB is on probation until .+ \(\d+ s\): 1 or more of its ranks lost within 60 min \(restart\.probationFailures\)", refused.Reason);
        Assert.True((await job.JoinAsync("nodeC", 29502)).Accepted); // another node is admitted
        var status = await job.Grain.GetStatus();
        Assert.Equal((3L, 2), (status.Generation, status.Ranks.Count));
        Assert.Equal(["nodeA/0", "nodeC/0"], status.Ranks.Select(r => r.MemberId));
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task CallsFromAStaleGenerationOrWithAForeignTokenAreFenced()
    {
        var (job, a, b) = await RunningJobAsync();
        Assert.Equal(ControlDirective.Fenced, (await job.RenewAsync(a with { Generation = 0 })).Directive);
        Assert.Equal(ControlDirective.Fenced, (await job.RenewAsync(a with { FencingToken = b.FencingToken })).Directive);
        // Node A speaking for a local rank it does not have (rank 1 lives on node B): fenced, whatever token it sends.
        var asOther = await job.BeatAsync(a with { FencingToken = b.FencingToken }, vote: new CheckpointVote(1, 0, 0, [], null), localRank: 1);
        Assert.Equal(ControlDirective.Fenced, asOther.Directive);
        Assert.Contains("nodeA/1 has no rank", asOther.Reason);
        Assert.Equal(JobState.Running, (await job.Grain.GetStatus()).State);
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task A_node_fetches_only_the_addresses_its_ranks_connect_to()
    {
        var job = await JobDriver.SubmitAsync(Grains, 16, 16);
        for (var n = 15; n >= 0; n--) Assert.True((await job.JoinAsync($"n{n:D2}", 29500 + n)).Accepted);
        var a = await job.AssignmentAsync("n00/0");
        Assert.Equal((0, 16), (a.Rank, a.WorldSize));
        // Rank 0 of 16: ring neighbours 1 and 15, recursive-doubling partners 1, 2, 4, 8, and itself.
        Assert.Equal([0, 1, 2, 4, 8, 15], a.Peers.Where(p => p.Port != 0).Select(p => p.Rank));
        Assert.Equal(29508, a.Peers[8].Port);
        Assert.Equal(16, a.Peers.Count);
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task ResubmitWithAnotherSpecOrAnInvalidSpecIsRefused()
    {
        var job = await JobDriver.SubmitAsync(Grains, 1, 1);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => job.Grain.Submit(job.Spec with { MaxWorkers = 3 }));
        Assert.Contains("different spec", e.Message);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => Grains.GetGrain<IJobGrain>("other").Submit(job.Spec with { JobId = "other", MinWorkers = 0 }));
        Assert.Contains("minWorkers", bad.Message);
        await job.Grain.Cancel("test over");
    }
}
