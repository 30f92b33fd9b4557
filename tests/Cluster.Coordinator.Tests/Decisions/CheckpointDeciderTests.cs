using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class CheckpointDeciderTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly CheckpointDecider _d = new(new CheckpointOptions("job1", "/ckpt", 10, 2, 7, TimeSpan.FromSeconds(30)));

    private Decision<CheckpointState> On(CheckpointState s, CheckpointEvent e) => _d.Decide(s, e, _time.GetUtcNow());

    private static CheckpointAck Ack(long id, int rank, long cursor = 64, string? error = null, long generation = 1) =>
        new(id, generation, rank, 0, cursor, [new CheckpointFile($"rank{rank}.pt", 100 + rank, new string('a', 64))], error);

    private CheckpointState Open(CheckpointState s, long step, int world = 2)
    {
        var d = On(s, new CheckpointEvent.StepCompleted(step, 1, world));
        Assert.IsType<OpenCheckpoint>(Assert.Single(d.Actions));
        return d.State;
    }

    [Fact]
    public void OpensOnlyAtIntervalBoundariesAndOnlyOnce()
    {
        Assert.Empty(On(CheckpointState.Empty, new CheckpointEvent.StepCompleted(9, 1, 2)).Actions);
        var s = Open(CheckpointState.Empty, 10);
        Assert.Equal(1, s.Pending!.CheckpointId);
        Assert.Equal(Path.Combine("/ckpt", "ckpt-00000001"), s.Pending.Directory); // the root is the lineage root (checkpoint.dir/name)
        Assert.Empty(On(s, new CheckpointEvent.StepCompleted(10, 1, 2)).Actions); // second rank reporting the same step
        Assert.Empty(On(s, new CheckpointEvent.StepCompleted(20, 1, 2)).Actions); // one open at a time
    }

    [Fact]
    public void A_requested_save_opens_off_the_interval_and_a_final_one_is_marked_in_the_manifest()
    {
        var d = On(CheckpointState.Empty, new CheckpointEvent.StepCompleted(13, 1, 2, Requested: true, Final: true));
        Assert.Equal(13, Assert.IsType<OpenCheckpoint>(Assert.Single(d.Actions)).Step);
        var noFiles = Ack(1, 1) with { Files = [] }; // ranks other than 0 write nothing
        var s = On(d.State, new CheckpointEvent.Ack(noFiles)).State;
        var commit = Assert.IsType<CommitCheckpoint>(On(s, new CheckpointEvent.Ack(Ack(1, 0))).Actions[0]);
        Assert.True(commit.Manifest.Final);
        Assert.Equal([0], commit.Manifest.Ranks.Select(r => r.Rank));
        var rank0Empty = On(On(CheckpointState.Empty, new CheckpointEvent.StepCompleted(20, 1, 2)).State, new CheckpointEvent.Ack(Ack(1, 0) with { Files = [] }));
        Assert.Contains("rank 0 acked checkpoint 1 without files", Assert.IsType<DiscardCheckpoint>(Assert.Single(rank0Empty.Actions)).Reason);
    }

    [Fact]
    public void The_last_steps_request_marks_the_interval_checkpoint_of_that_step_final_or_writes_a_final_one_after_it()
    {
        // Open at the interval step 20, which is also the last step: the final request marks it.
        var open = Open(CheckpointState.Empty, 20);
        var marked = On(open, new CheckpointEvent.StepCompleted(20, 1, 2, Requested: true, Final: true));
        Assert.Empty(marked.Actions);
        Assert.True(marked.State.Pending!.Final);
        var s = On(On(marked.State, new CheckpointEvent.Ack(Ack(1, 1))).State, new CheckpointEvent.Ack(Ack(1, 0))).State;
        Assert.True(s.Latest!.Final);
        Assert.Empty(On(s, new CheckpointEvent.StepCompleted(20, 1, 2, Requested: true, Final: true)).Actions); // final already
        // Committed before the request came: a final checkpoint of the same step is opened.
        var plain = On(On(open, new CheckpointEvent.Ack(Ack(1, 1))).State, new CheckpointEvent.Ack(Ack(1, 0))).State;
        Assert.False(plain.Latest!.Final);
        var again = On(plain, new CheckpointEvent.StepCompleted(20, 1, 2, Requested: true, Final: true));
        Assert.Equal((20L, 2L), (Assert.IsType<OpenCheckpoint>(Assert.Single(again.Actions)).Step, again.State.Pending!.CheckpointId));
        Assert.True(again.State.Pending.Final);
        Assert.Empty(On(plain, new CheckpointEvent.StepCompleted(20, 1, 2, Requested: true)).Actions); // a plain request is not repeated
    }

    [Fact]
    public void CommitsOnlyWhenEveryRankAckedAndRecordsTheSamplerPosition()
    {
        var s = Open(CheckpointState.Empty, 10);
        var first = On(s, new CheckpointEvent.Ack(Ack(1, 1)));
        Assert.Empty(first.Actions);
        Assert.Empty(first.State.Committed);
        Assert.Empty(On(first.State, new CheckpointEvent.Ack(Ack(1, 1))).Actions); // duplicate
        var done = On(first.State, new CheckpointEvent.Ack(Ack(1, 0)));
        var commit = Assert.IsType<CommitCheckpoint>(Assert.Single(done.Actions));
        Assert.Equal(new EpochPlan(7, 0, 64), commit.Manifest.EpochPlan);
        Assert.Equal([0, 1], commit.Manifest.Ranks.Select(r => r.Rank));
        Assert.Null(done.State.Pending);
        Assert.Same(commit.Manifest, done.State.Latest);
    }

    [Fact]
    public void ErrorVoteAbortsAndDiscardsPartialFiles()
    {
        var s = On(Open(CheckpointState.Empty, 10), new CheckpointEvent.Ack(Ack(1, 0))).State;
        var d = On(s, new CheckpointEvent.Ack(Ack(1, 1, error: "disk full")));
        var discard = Assert.IsType<DiscardCheckpoint>(Assert.Single(d.Actions));
        Assert.Contains("rank 1", discard.Reason);
        Assert.Contains("disk full", discard.Reason);
        Assert.Empty(d.State.Committed);
        Assert.Null(d.State.Pending);
    }

    [Fact]
    public void TimeoutAbortsNamingTheMissingRanks()
    {
        var s = On(Open(CheckpointState.Empty, 10, world: 3), new CheckpointEvent.Ack(Ack(1, 1))).State;
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(On(s, new CheckpointEvent.Tick()).Actions);
        _time.Advance(TimeSpan.FromSeconds(1));
        var discard = Assert.IsType<DiscardCheckpoint>(Assert.Single(On(s, new CheckpointEvent.Tick()).Actions));
        Assert.Contains("ranks 0, 2", discard.Reason);
    }

    [Fact]
    public void DisagreeingSamplerPositionsAbort()
    {
        var s = On(Open(CheckpointState.Empty, 10), new CheckpointEvent.Ack(Ack(1, 0, cursor: 64))).State;
        var discard = Assert.IsType<DiscardCheckpoint>(Assert.Single(On(s, new CheckpointEvent.Ack(Ack(1, 1, cursor: 32))).Actions));
        Assert.Contains("cursor 32", discard.Reason);
    }

    [Fact]
    public void AcksForAnotherCheckpointOrGenerationAreRejected()
    {
        var s = Open(CheckpointState.Empty, 10);
        Assert.NotNull(On(s, new CheckpointEvent.Ack(Ack(2, 0))).Rejection);
        Assert.NotNull(On(s, new CheckpointEvent.Ack(Ack(1, 0, generation: 2))).Rejection);
        Assert.NotNull(On(CheckpointState.Empty, new CheckpointEvent.Ack(Ack(1, 0))).Rejection);
    }

    [Fact]
    public void KeepsOnlyTheLastKCommitted()
    {
        var s = CheckpointState.Empty;
        var pruned = new List<long>();
        for (var i = 1; i <= 4; i++)
        {
            s = Open(s, i * 10);
            s = On(s, new CheckpointEvent.Ack(Ack(i, 0))).State;
            var d = On(s, new CheckpointEvent.Ack(Ack(i, 1)));
            pruned.AddRange(d.Actions.OfType<PruneCheckpoint>().Select(p => p.Manifest.CheckpointId));
            s = d.State;
        }
        Assert.Equal([1L, 2L], pruned);
        Assert.Equal([3L, 4L], s.Committed.Select(c => c.CheckpointId));
    }
}
