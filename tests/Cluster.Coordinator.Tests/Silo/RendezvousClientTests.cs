using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Tests.Silo;

/// <summary>The node side of the rendezvous against a real silo, with faults injected through a delegating
/// <see cref="IJobGrain"/>: a transient Orleans timeout is retried, and a node the coordinator forgot (restarted during
/// the rendezvous, which is not persisted join by join) joins again.</summary>
public sealed class RendezvousClientTests(CoordinatorClusterFixture fx) : IClassFixture<CoordinatorClusterFixture>
{
    private static NodeJoinRequest Request(JobDriver job, string node) =>
        new(node, "host-" + node, "127.0.0.1", [new LocalEndpoint(0, 29600, 4600)], JoinProof.Compute(job.Secret, job.Spec.JobId, node));

    [Fact]
    public async Task A_transient_timeout_is_retried_and_a_member_forgotten_by_a_restart_joins_again()
    {
        var job = await JobDriver.SubmitAsync(fx.Cluster.Client, 3, 3);
        var first = RendezvousClient.JoinAndWaitAsync(job.Grain, job.Spec.JobId, Request(job, "nodeA"), TimeSpan.FromSeconds(30), TimeProvider.System, CancellationToken.None);
        await job.WaitForStatusAsync(s => s.WaitingMembers == 1, "A waits");
        var faulty = new FaultyJob(job.Grain)
        {
            // After B's join reaches the grain: the grain is deactivated (as if its silo restarted), and the first poll
            // times out the way an Orleans call past its response timeout does.
            AfterJoin = () => fx.Cluster.DeactivateAsync(job.Grain),
            TimeoutsBeforePoll = 1,
        };
        var waiting = RendezvousClient.JoinAndWaitAsync(faulty, job.Spec.JobId, Request(job, "nodeB"), TimeSpan.FromSeconds(30), TimeProvider.System, CancellationToken.None);
        // Waiting nodes are not persisted (only a started generation is), so the reactivated grain knows neither A nor B:
        // their clients retry the timed-out poll (B) or poll again (A), hear "has not joined" and join again.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (faulty.Joins < 2 && !waiting.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(10);
        Assert.Equal(2, faulty.Joins);
        Assert.Equal(2, (await job.WaitForStatusAsync(s => s.WaitingMembers == 2, "A and B joined again and wait")).WaitingMembers);
        Assert.True((await job.JoinAsync("nodeC", 29502)).Accepted);
        var assignment = await waiting;
        Assert.Equal(0, (await first).Assignment.Slots[0].Rank);
        Assert.Equal(3, assignment.Assignment.WorldSize);
        Assert.Equal([0, 1, 2], assignment.Peers.Select(p => p.Rank)); // the peer table, fetched once after the assignment
        Assert.Equal(1, faulty.TimeoutsThrown);
        Assert.Equal(["nodeA/0", "nodeB/0", "nodeC/0"], (await job.Grain.GetStatus()).Ranks.Select(r => r.MemberId));
        await job.Grain.Cancel("test over");
    }

    [Fact]
    public async Task The_deadline_names_the_member_and_the_last_transient_error()
    {
        var job = await JobDriver.SubmitAsync(fx.Cluster.Client, 2, 2);
        var faulty = new FaultyJob(job.Grain) { TimeoutsBeforePoll = int.MaxValue };
        var error = await Assert.ThrowsAsync<TimeoutException>(() => RendezvousClient.JoinAndWaitAsync(faulty, job.Spec.JobId, Request(job, "nodeC"),
            TimeSpan.FromSeconds(2), TimeProvider.System, CancellationToken.None));
        Assert.Contains("node nodeC got no rank assignment", error.Message);
        Assert.Contains("TimeoutException: injected", error.Message);
        Assert.True(faulty.TimeoutsThrown >= 2, $"retried {faulty.TimeoutsThrown} time(s)");
        await job.Grain.Cancel("test over");
    }

    private sealed class FaultyJob(IJobGrain inner) : IJobGrain
    {
        public Func<Task>? AfterJoin { get; init; }
        public int TimeoutsBeforePoll { get; init; }
        public int TimeoutsThrown { get; private set; }
        public int Joins { get; private set; }

        public async Task<JoinResult> JoinNode(NodeJoinRequest request)
        {
            var result = await inner.JoinNode(request);
            if (Joins++ == 0 && AfterJoin is { } after) await after();
            return result;
        }

        public Task<NodeAssignmentResult> WaitForNodeAssignment(string nodeId, TimeSpan maxWait)
        {
            if (TimeoutsThrown >= TimeoutsBeforePoll) return inner.WaitForNodeAssignment(nodeId, maxWait);
            TimeoutsThrown++;
            return Task.FromException<NodeAssignmentResult>(new TimeoutException("injected response timeout"));
        }

        public Task<SubmitResult> Submit(JobSpecSummary spec) => inner.Submit(spec);
        public Task<PeerTable> GetPeerTable(string nodeId, long generation) => inner.GetPeerTable(nodeId, generation);
        public Task<NodeBeatReply> Beat(NodeBeat beat) => inner.Beat(beat);
        public Task<ControlReply> WaitForDirective(string nodeId, long generation, TimeSpan maxWait) => inner.WaitForDirective(nodeId, generation, maxWait);
        public Task<ControlReply> ReportExit(ProcessExitReport report) => inner.ReportExit(report);
        public Task<JobStatus> Cancel(string reason) => inner.Cancel(reason);

        public Task<ScaleResult> Scale(int workers) => inner.Scale(workers);

        public Task<ScaleResult> Drain(NodeDrainRequest request) => inner.Drain(request);
        public Task<JobStatus> GetStatus() => inner.GetStatus();
        public Task<CheckpointManifest?> GetLatestCheckpoint() => inner.GetLatestCheckpoint();
    }
}
