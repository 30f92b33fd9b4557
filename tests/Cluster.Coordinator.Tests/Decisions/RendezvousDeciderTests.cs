using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class RendezvousDeciderTests
{
    private readonly FakeTimeProvider _time = new();

    private RendezvousMember Member(string node, int local = 0) =>
        new($"{node}/{local}", node, local, $"host-{node}", "127.0.0.1", 29500 + local, 1000 + local, _time.GetUtcNow());

    private Decision<RendezvousState> Join(RendezvousDecider d, RendezvousState s, RendezvousMember m) =>
        d.Decide(s, new RendezvousEvent.Join([m]), _time.GetUtcNow());

    [Fact]
    public void MaxPresentStartsGenerationImmediatelyWithRanksSortedByNodeThenLocalRank()
    {
        var d = new RendezvousDecider(new RendezvousOptions(2, 2, 2, TimeSpan.FromMinutes(1)));
        var s = RendezvousState.Empty;
        foreach (var m in new[] { Member("nodeB", 1), Member("nodeA", 1), Member("nodeB", 0) })
        {
            var step = Join(d, s, m);
            Assert.Empty(step.Actions);
            s = step.State;
        }
        var last = Join(d, s, Member("nodeA", 0));
        var start = Assert.IsType<StartGeneration>(Assert.Single(last.Actions));
        Assert.Equal(1, start.Generation);
        Assert.Equal(["nodeA/0", "nodeA/1", "nodeB/0", "nodeB/1"], start.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal([0, 1, 2, 3], start.Ranks.Select(r => r.Rank));
        Assert.False(last.State.IsOpen);
    }

    [Fact]
    public void MinPresentWaitsForTheSettleWindowSinceTheLastJoin()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 3, 1, TimeSpan.FromSeconds(5)));
        var s = Join(d, RendezvousState.Empty, Member("n1")).State;
        _time.Advance(TimeSpan.FromSeconds(4));
        s = Join(d, s, Member("n2")).State; // restarts the settle window
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Empty(d.Decide(s, new RendezvousEvent.Tick(), _time.GetUtcNow()).Actions);
        _time.Advance(TimeSpan.FromSeconds(1));
        var start = Assert.IsType<StartGeneration>(Assert.Single(d.Decide(s, new RendezvousEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal(2, start.Ranks.Count);
    }

    [Fact]
    public void IncompleteNodeDoesNotCountAndIsNotAdmitted()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 2, 2, TimeSpan.Zero));
        var s = Join(d, RendezvousState.Empty, Member("a", 0)).State;
        s = Join(d, s, Member("b", 0)).State;
        Assert.True(s.IsOpen);
        var done = Join(d, s, Member("b", 1));
        var start = Assert.IsType<StartGeneration>(Assert.Single(done.Actions));
        Assert.Equal(["b/0", "b/1"], start.Ranks.Select(r => r.Member.MemberId));
        Assert.Null(done.State.SlotOf("a/0"));
    }

    [Fact]
    public void WorkersAboveMaxAreLeftOut()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 2, 1, TimeSpan.Zero));
        var s = new RendezvousState(0, [Member("c"), Member("a"), Member("b")], [], _time.GetUtcNow());
        var start = Assert.IsType<StartGeneration>(Assert.Single(d.Decide(s, new RendezvousEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal(["a/0", "b/0"], start.Ranks.Select(r => r.Member.MemberId));
    }

    [Fact]
    public void ClosedRendezvousRefusesNewcomersButAcceptsRetriedJoin()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 1, 1, TimeSpan.Zero));
        var s = Join(d, RendezvousState.Empty, Member("a")).State;
        Assert.Null(Join(d, s, Member("a")).Rejection);
        Assert.Same(s, Join(d, s, Member("a")).State);
        Assert.Contains("closed", Join(d, s, Member("z")).Rejection);
    }

    [Fact]
    public void LocalRankOutsideNprocIsRejected()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 1, 2, TimeSpan.Zero));
        Assert.Contains("local rank 2", Join(d, RendezvousState.Empty, Member("a", 2)).Rejection);
    }

    [Fact]
    public void GenerationsAreMonotonicAndStaleGenerationsAreFenced()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 1, 1, TimeSpan.Zero));
        var g1 = Join(d, RendezvousState.Empty, Member("a")).State;
        var token1 = RendezvousDecider.FencingToken(1, 0);
        Assert.Null(RendezvousDecider.CheckFence(g1, "a/0", 1, token1).Refusal);
        Assert.Contains("fencing token", RendezvousDecider.CheckFence(g1, "a/0", 1, token1 + 1).Refusal);

        var reopened = d.Decide(g1, new RendezvousEvent.Reopen(), _time.GetUtcNow()).State;
        Assert.True(reopened.IsOpen);
        var g2 = Join(d, reopened, Member("a")).State;
        Assert.Equal(2, g2.Generation);
        Assert.Contains("stale", RendezvousDecider.CheckFence(g2, "a/0", 1, token1).Refusal);
        Assert.Null(RendezvousDecider.CheckFence(g2, "a/0", 2, RendezvousDecider.FencingToken(2, 0)).Refusal);
        Assert.True(RendezvousDecider.FencingToken(2, 0) > RendezvousDecider.FencingToken(1, 65535));
    }

    [Fact]
    public void RegroupFormsTheNextGenerationOfTheSurvivorsAtOnceRenumberedInOrder()
    {
        var d = new RendezvousDecider(new RendezvousOptions(2, 2, 2, TimeSpan.FromMinutes(1)));
        var s = RendezvousState.Empty;
        foreach (var m in new[] { Member("a", 0), Member("a", 1), Member("b", 0), Member("b", 1) }) s = Join(d, s, m).State;
        var g1 = s;
        Assert.Equal(1, g1.Generation);
        var regroup = d.Decide(g1, new RendezvousEvent.Regroup([1]), _time.GetUtcNow());
        var start = Assert.IsType<StartGeneration>(Assert.Single(regroup.Actions)); // no settle window, no join
        var g2 = regroup.State;
        Assert.Equal(2, g2.Generation);
        Assert.Equal(["a/0", "b/0", "b/1"], g2.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal([0, 1, 2], g2.Ranks.Select(r => r.Rank));
        Assert.Equal(g2.Ranks, start.Ranks);
        Assert.Single(g2.SlotsOfNode("a")); // a partial node
        Assert.Contains("stale", RendezvousDecider.CheckFence(g2, "b/0", 1, RendezvousDecider.FencingToken(1, 2)).Refusal);
        Assert.Null(RendezvousDecider.CheckFence(g2, "b/0", 2, RendezvousDecider.FencingToken(2, 1)).Refusal);
        Assert.NotNull(d.Decide(g2, new RendezvousEvent.Regroup([0, 1, 2]), _time.GetUtcNow()).Rejection); // nobody left
        Assert.NotNull(d.Decide(RendezvousState.Empty, new RendezvousEvent.Regroup([0]), _time.GetUtcNow()).Rejection); // nothing running
    }

    [Fact]
    public void AdmissionFormsTheNextGenerationWithTheNewcomerInRendezvousOrderUpToTheMaximum()
    {
        var d = new RendezvousDecider(new RendezvousOptions(2, 2, 2, TimeSpan.FromMinutes(1)));
        var s = RendezvousState.Empty;
        foreach (var m in new[] { Member("a", 0), Member("a", 1), Member("b", 0), Member("b", 1) }) s = Join(d, s, m).State;
        var g2 = d.Decide(s, new RendezvousEvent.Regroup([1]), _time.GetUtcNow()).State; // a/1 lost
        var back = Member("a", 1) with { Port = 31000 };
        var admit = d.Decide(g2, new RendezvousEvent.Admit([back]), _time.GetUtcNow());
        var start = Assert.IsType<StartGeneration>(Assert.Single(admit.Actions));
        var g3 = admit.State;
        Assert.Equal(3, g3.Generation);
        Assert.Equal(["a/0", "a/1", "b/0", "b/1"], g3.Ranks.Select(r => r.Member.MemberId)); // the original layout again
        Assert.Equal([0, 1, 2, 3], g3.Ranks.Select(r => r.Rank));
        Assert.Equal(31000, g3.SlotOf("a/1")!.Member.Port);
        Assert.Equal(g3.Ranks, start.Ranks);
        Assert.Contains("stale", RendezvousDecider.CheckFence(g3, "b/0", 2, RendezvousDecider.FencingToken(2, 1)).Refusal);
        // A retry changes nothing; a fifth rank on a node outside the generation passes the maximum (a spare waits only on
        // a node with ranks in it); nothing is admitted into an open rendezvous.
        Assert.Same(g3, d.Decide(g3, new RendezvousEvent.Admit([back]), _time.GetUtcNow()).State);
        Assert.Contains("passes the maximum of 4", d.Decide(g3, new RendezvousEvent.Admit([Member("c", 0)]), _time.GetUtcNow()).Rejection);
        Assert.NotNull(d.Decide(RendezvousState.Empty, new RendezvousEvent.Admit([back]), _time.GetUtcNow()).Rejection);
        Assert.Contains("outside 0..1", d.Decide(g2, new RendezvousEvent.Admit([Member("a", 2)]), _time.GetUtcNow()).Rejection);
    }

    [Fact]
    public void TooFewSurvivorsWaitAsMembersAndTheNextGenerationFormsAtTheQuorumPartialNodesIncluded()
    {
        var d = new RendezvousDecider(new RendezvousOptions(2, 2, 2, TimeSpan.FromMinutes(1)));
        var s = RendezvousState.Empty;
        foreach (var m in new[] { Member("a", 0), Member("a", 1), Member("b", 0), Member("b", 1) }) s = Join(d, s, m).State;
        var hold = d.Decide(s, new RendezvousEvent.Hold([1, 3], Quorum: 4), _time.GetUtcNow()); // a/1 and b/1 lost
        Assert.Empty(hold.Actions);
        var held = hold.State;
        Assert.True(held.IsHeld);
        Assert.Equal((1L, 4), (held.Generation, held.Quorum));
        Assert.Equal(["a/0", "b/0"], held.Members.Select(m => m.MemberId));
        Assert.True(held.HasNode("a") && held.HasNode("b"));
        Assert.Contains("no active generation", RendezvousDecider.CheckFence(held, "a/0", 1, RendezvousDecider.FencingToken(1, 0)).Refusal);
        // One replacement: 3 of 4 wait; the second forms generation 2 at once (no settle window), ordered like a rendezvous.
        var three = Join(d, held, Member("b", 1) with { Port = 31001 });
        Assert.Empty(three.Actions);
        var four = Join(d, three.State, Member("a", 1) with { Port = 31000 });
        var start = Assert.IsType<StartGeneration>(Assert.Single(four.Actions));
        Assert.Equal(2, four.State.Generation);
        Assert.Equal(["a/0", "a/1", "b/0", "b/1"], four.State.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal(four.State.Ranks, start.Ranks);
        Assert.False(four.State.IsHeld);
        Assert.Null(four.State.Quorum);
        // A waiting survivor that exits leaves; then the rendezvous may reopen (restart from the checkpoint) even while held.
        var left = d.Decide(held, new RendezvousEvent.Leave("a/0"), _time.GetUtcNow()).State;
        Assert.Equal(["b/0"], left.Members.Select(m => m.MemberId));
        Assert.False(left.HasNode("a"));
        var reopened = d.Decide(left, new RendezvousEvent.Reopen(), _time.GetUtcNow()).State;
        Assert.False(reopened.IsHeld);
        Assert.Empty(reopened.Members);
        Assert.NotNull(d.Decide(reopened, new RendezvousEvent.Leave("b/0"), _time.GetUtcNow()).Rejection); // nobody holds
        Assert.NotNull(d.Decide(held, new RendezvousEvent.Hold([0], 2), _time.GetUtcNow()).Rejection); // nothing running
        Assert.NotNull(d.Decide(s, new RendezvousEvent.Hold([0, 1, 2, 3], 2), _time.GetUtcNow()).Rejection); // nobody survived
    }

    [Fact]
    public void RanksBeyondMaxRanksWaitAsSparesAndTakeTheLostPlacesAtOnce()
    {
        // cluster run --workers 3 with workers.maxRanks 2: one node of three ranks, a generation of two, one spare.
        var d = new RendezvousDecider(new RendezvousOptions(1, 1, 3, TimeSpan.FromMinutes(1)) { MaxRanks = 2 }.Validated());
        var s = RendezvousState.Empty;
        foreach (var m in new[] { Member("a", 2), Member("a", 0) }) s = Join(d, s, m).State;
        Assert.True(s.IsOpen); // the node is not complete yet
        var g1 = Join(d, s, Member("a", 1)); // complete and holding the limit: no settle window
        var start = Assert.IsType<StartGeneration>(Assert.Single(g1.Actions));
        Assert.Equal(["a/0", "a/1"], start.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal(["a/2"], g1.State.Spares.Select(m => m.MemberId));
        Assert.Equal([2], g1.State.SparesOfNode("a"));
        Assert.Empty(g1.State.SparesOfNode("b"));
        // Rank 0 (a/0) lost: the survivor keeps rank 0's place order and the spare fills the lost place.
        var g2 = d.Decide(g1.State, new RendezvousEvent.Regroup([0]), _time.GetUtcNow());
        var next = Assert.IsType<StartGeneration>(Assert.Single(g2.Actions));
        Assert.Equal(["a/1", "a/2"], next.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal([0, 1], next.Ranks.Select(r => r.Rank));
        Assert.Empty(g2.State.Spares);
        // The lost rank's replacement finds the generation full: it waits as a spare, the generation stays.
        var back = d.Decide(g2.State, new RendezvousEvent.Admit([Member("a", 0) with { Port = 31000 }]), _time.GetUtcNow());
        Assert.Empty(back.Actions);
        Assert.Equal(2, back.State.Generation);
        Assert.Equal(["a/0"], back.State.Spares.Select(m => m.MemberId));
        // The spare's process restarted: its new entry replaces the old one.
        var again = d.Decide(back.State, new RendezvousEvent.Admit([Member("a", 0) with { Port = 32000 }]), _time.GetUtcNow()).State;
        Assert.Equal(32000, Assert.Single(again.Spares).Port);
        // The next loss (a/2, rank 1): the survivor keeps rank 0, the spare comes after it.
        var g3 = d.Decide(again, new RendezvousEvent.Regroup([1]), _time.GetUtcNow()).State;
        Assert.Equal(["a/1", "a/0"], g3.Ranks.Select(r => r.Member.MemberId));
        // Too few survive (hold): the spares wait with the survivors, and the held rendezvous starts at the limit.
        var withSpare = d.Decide(g3, new RendezvousEvent.Admit([Member("a", 2) with { Port = 33000 }]), _time.GetUtcNow()).State;
        var held = d.Decide(withSpare, new RendezvousEvent.Hold([0], Quorum: 2), _time.GetUtcNow()).State; // a/1 lost
        Assert.Equal(["a/0", "a/2"], held.Members.Select(m => m.MemberId));
        Assert.Empty(held.Spares);
        var formed = d.Decide(held, new RendezvousEvent.Join([Member("a", 1) with { Port = 34000 }]), _time.GetUtcNow());
        Assert.IsType<StartGeneration>(Assert.Single(formed.Actions));
        Assert.Equal(["a/0", "a/1"], formed.State.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal(["a/2"], formed.State.Spares.Select(m => m.MemberId));
        Assert.Empty(d.Decide(formed.State, new RendezvousEvent.Reopen(), _time.GetUtcNow()).State.Spares);
    }

    [Fact]
    public void MaxRanksOutsideTheNodesIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new RendezvousOptions(1, 1, 3, TimeSpan.Zero) { MaxRanks = 4 }.Validated());
        Assert.Throws<ArgumentException>(() => new RendezvousOptions(1, 1, 3, TimeSpan.Zero) { MaxRanks = 0 }.Validated());
        Assert.Equal(6, new RendezvousOptions(1, 2, 3, TimeSpan.Zero).RankLimit);
    }

    [Fact]
    public void EmptyStatesAreFreshInstancesSoStorageSerializersCannotOverwriteASharedDefault()
    {
        // Newtonsoft (the Redis storage default) populates existing property values in place via init setters;
        // a shared static Empty once leaked generation 1 of one job into every new job of the process.
        Assert.NotSame(RendezvousState.Empty, RendezvousState.Empty);
        Assert.NotSame(CheckpointState.Empty, CheckpointState.Empty);
        Assert.NotSame(new global::Cluster.Coordinator.Grains.JobGrainState().Checkpoints, new global::Cluster.Coordinator.Grains.JobGrainState().Checkpoints);
    }
}
