using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Coordinator.Tests.Decisions;

/// <summary>Planned resizes: <see cref="RendezvousEvent.Scale"/> and <see cref="RendezvousEvent.Drain"/>.</summary>
public sealed class RendezvousScalingTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly RendezvousDecider _d = new(new RendezvousOptions(2, 4, 2, TimeSpan.FromMinutes(1)) { MinRanks = 3 });

    private RendezvousMember Member(string node, int local) =>
        new($"{node}/{local}", node, local, $"host-{node}", "127.0.0.1", 29500 + local, 1000 + local, _time.GetUtcNow());

    /// <summary>Generation 1 with nodes a..c (2 ranks each): six ranks.</summary>
    private RendezvousState Running(params string[] nodes)
    {
        var s = RendezvousState.Empty;
        foreach (var n in nodes) s = _d.Decide(s, new RendezvousEvent.Join([Member(n, 0), Member(n, 1)]), _time.GetUtcNow()).State;
        _time.Advance(TimeSpan.FromMinutes(2)); // the settle window
        s = _d.Decide(s, new RendezvousEvent.Tick(), _time.GetUtcNow()).State;
        Assert.Equal(nodes.Length * 2, s.Ranks.Count);
        return s;
    }

    private Decision<RendezvousState> Scale(RendezvousState s, int workers) => _d.Decide(s, new RendezvousEvent.Scale(workers), _time.GetUtcNow());

    [Fact]
    public void ScalingOutsideMinToMaxIsRefusedNamingTheRange()
    {
        var s = Running("a", "b", "c");
        Assert.Equal("workers must be within workers.min..workers.max (2..4); got 5", Scale(s, 5).Rejection);
        Assert.Equal("workers must be within workers.min..workers.max (2..4); got 1", Scale(s, 1).Rejection);
        Assert.Same(s, Scale(s, 0).State);
    }

    [Fact]
    public void ScalingDownDropsTheLastNodesAndKeepsTheOthersInTheirOrder()
    {
        var s = Running("a", "b", "c");
        var down = Scale(s, 2);
        var start = Assert.IsType<StartGeneration>(Assert.Single(down.Actions));
        Assert.Equal(2, start.Generation);
        Assert.Equal(["a/0", "a/1", "b/0", "b/1"], start.Ranks.Select(r => r.Member.MemberId));
        Assert.Equal([0, 1, 2, 3], start.Ranks.Select(r => r.Rank));
        Assert.Equal(2, down.State.TargetWorkers);
        Assert.Equal(4, _d.LimitOf(down.State));
    }

    [Fact]
    public void AtTheTargetAnAdmissionOfANewNodeIsRefusedAndAfterScalingUpItIsTaken()
    {
        var s = Scale(Running("a", "b", "c"), 2).State;
        var joining = new[] { Member("d", 0), Member("d", 1) };
        Assert.Contains("passes the maximum of 4", _d.Decide(s, new RendezvousEvent.Admit(joining), _time.GetUtcNow()).Rejection);
        var up = Scale(s, 3);
        Assert.Empty(up.Actions); // nothing waits: the next agent's join is the admission
        Assert.Equal(3, up.State.TargetWorkers);
        var admitted = _d.Decide(up.State, new RendezvousEvent.Admit(joining), _time.GetUtcNow());
        Assert.Equal(6, Assert.IsType<StartGeneration>(Assert.Single(admitted.Actions)).Ranks.Count);
    }

    [Fact]
    public void ScalingUpTakesWaitingSparesAtOnce()
    {
        var d = new RendezvousDecider(new RendezvousOptions(1, 3, 2, TimeSpan.FromMinutes(1)) { MaxRanks = 5 });
        var s = RendezvousState.Empty;
        foreach (var n in new[] { "a", "b", "c" }) s = d.Decide(s, new RendezvousEvent.Join([Member(n, 0), Member(n, 1)]), _time.GetUtcNow()).State;
        Assert.Equal(5, s.Ranks.Count);
        Assert.Single(s.Spares); // c/1
        s = d.Decide(s, new RendezvousEvent.Scale(2), _time.GetUtcNow()).State;
        Assert.Equal(4, s.Ranks.Count);
        Assert.Empty(s.Spares); // c left, with its spare
        s = d.Decide(s, new RendezvousEvent.Admit([Member("c", 0), Member("c", 1)]), _time.GetUtcNow()).State;
        Assert.Equal(4, s.Ranks.Count); // at the target of 2 nodes: node c may not even wait as a spare
        var up = d.Decide(s with { Spares = [Member("b", 2)] }, new RendezvousEvent.Scale(3), _time.GetUtcNow());
        Assert.Equal(["a/0", "a/1", "b/0", "b/1", "b/2"], Assert.IsType<StartGeneration>(Assert.Single(up.Actions)).Ranks.Select(r => r.Member.MemberId));
        Assert.Empty(up.State.Spares);
    }

    [Fact]
    public void ADrainedNodeLeavesAtTheNextGenerationUnlessTooFewWouldRemain()
    {
        var s = Running("a", "b", "c");
        var drained = _d.Decide(s, new RendezvousEvent.Drain(["b"]), _time.GetUtcNow());
        Assert.Equal(["a/0", "a/1", "c/0", "c/1"], Assert.IsType<StartGeneration>(Assert.Single(drained.Actions)).Ranks.Select(r => r.Member.MemberId));
        Assert.Equal(2, drained.State.Generation);
        // Two ranks would remain, fewer than workers.minRanks (3).
        Assert.Equal("without node c generation 2 keeps 2 rank(s), fewer than workers.minRanks (3)",
            _d.Decide(drained.State, new RendezvousEvent.Drain(["c"]), _time.GetUtcNow()).Rejection);
        Assert.Contains("holds no rank", _d.Decide(drained.State, new RendezvousEvent.Drain(["b"]), _time.GetUtcNow()).Rejection);
        Assert.NotNull(_d.Decide(RendezvousState.Empty, new RendezvousEvent.Drain(["a"]), _time.GetUtcNow()).Rejection);
    }

    [Fact]
    public void AScaledDownRendezvousFormsWithAtMostTheTargetNodes()
    {
        var s = Scale(RendezvousState.Empty, 2).State;
        foreach (var n in new[] { "a", "b", "c" }) s = _d.Decide(s, new RendezvousEvent.Join([Member(n, 0), Member(n, 1)]), _time.GetUtcNow()).State;
        Assert.Equal(["a", "b"], s.Ranks.Select(r => r.Member.NodeId).Distinct());
    }
}
