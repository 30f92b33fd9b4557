using Cluster.Coordinator.Decisions;
using Microsoft.Extensions.Time.Testing;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class LivenessDeciderTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly LivenessDecider _d = new(new LivenessOptions(TimeSpan.FromSeconds(10)));

    private LivenessState Started(int world) => _d.Decide(LivenessState.Empty, new LivenessEvent.Start(world), _time.GetUtcNow()).State;
    private Decision<LivenessState> Tick(LivenessState s) => _d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow());

    [Fact]
    public void RenewedLeaseSurvivesAndSilentRankLapsesWithItsRankNamed()
    {
        var s = Started(3);
        _time.Advance(TimeSpan.FromSeconds(6));
        s = _d.Decide(s, new LivenessEvent.Renew([0]), _time.GetUtcNow()).State;
        s = _d.Decide(s, new LivenessEvent.Renew([2]), _time.GetUtcNow()).State;
        Assert.Empty(Tick(s).Actions);
        _time.Advance(TimeSpan.FromSeconds(4));
        var d = Tick(s);
        var fail = Assert.IsType<FailJob>(Assert.Single(d.Actions));
        Assert.Equal(1, fail.Rank);
        Assert.Contains("rank 1 lease lapsed", fail.Reason);
        Assert.True(d.State.Failed);
        Assert.Empty(Tick(d.State).Actions); // fails once
    }

    [Fact]
    public void NoLeaseEndsWithinTheGraceOfAGenerationsStartThenRenewalsLastTheLease()
    {
        var d = new LivenessDecider(new LivenessOptions(TimeSpan.FromSeconds(5), FirstBeatGrace: TimeSpan.FromSeconds(30)));
        var s = d.Decide(LivenessState.Empty, new LivenessEvent.Start(20), _time.GetUtcNow()).State;
        _time.Advance(TimeSpan.FromSeconds(29)); // nodes still fetching their peer tables: nobody lapses
        Assert.Empty(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions);
        for (var r = 1; r < 20; r++) s = d.Decide(s, new LivenessEvent.Renew([r]), _time.GetUtcNow()).State;
        _time.Advance(TimeSpan.FromSeconds(2)); // rank 0 never beat: its grace is over; the others renewed at 29 s
        var fail = Assert.IsType<FailJob>(Assert.Single(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal(0, fail.Rank);
        _time.Advance(TimeSpan.FromSeconds(3)); // renewals after the grace last 5 s, not 30: all lapse, the reason stays short
        var all = Assert.IsType<FailJob>(Assert.Single(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.EndsWith("(also lapsed: ranks 1, 2, 3, 4, 5, 6, 7, 8 and 11 more)", all.Reason);
    }

    [Fact]
    public void NonZeroExitFailsNamingRankAndCode()
    {
        var d = _d.Decide(Started(2), new LivenessEvent.Exited(1, 137, "killed"), _time.GetUtcNow());
        var fail = Assert.IsType<FailJob>(Assert.Single(d.Actions));
        Assert.Equal("rank 1 exited with code 137: killed", fail.Reason);
    }

    [Fact]
    public void AllRanksExitingCleanlyCompletesAndFinishedRanksHoldNoLease()
    {
        var s = _d.Decide(Started(2), new LivenessEvent.Exited(0, 0, null), _time.GetUtcNow());
        Assert.Empty(s.Actions);
        _time.Advance(TimeSpan.FromSeconds(9));
        s = _d.Decide(s.State, new LivenessEvent.Renew([1]), _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(Tick(s.State).Actions); // rank 0 finished: its old lease cannot lapse
        Assert.NotNull(_d.Decide(s.State, new LivenessEvent.Renew([0]), _time.GetUtcNow()).Rejection);
        var done = _d.Decide(s.State, new LivenessEvent.Exited(1, 0, null), _time.GetUtcNow());
        Assert.IsType<CompleteJob>(Assert.Single(done.Actions));
    }
}
