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
        var lost = Assert.IsType<RanksLost>(Assert.Single(d.Actions));
        Assert.Equal([1], lost.Ranks);
        Assert.Contains("rank 1 lease lapsed", lost.Reason);
        Assert.False(d.State.Failed);
        Assert.Equal([0, 2], d.State.Leases.Keys.Order());
        Assert.Empty(Tick(d.State).Actions); // reported once: its lease is gone
    }

    [Fact]
    public void ADeadHostLosesItsRanksAtOnceOnlyOnceAndNotRanksThatFinished()
    {
        var s = Started(4);
        s = _d.Decide(s, new LivenessEvent.Exited(3, 0, null), _time.GetUtcNow()).State; // rank 3 finished
        var d = _d.Decide(s, new LivenessEvent.HostDead([1, 3], "node n1 lost: silo S declared dead"), _time.GetUtcNow());
        var lost = Assert.IsType<RanksLost>(Assert.Single(d.Actions));
        Assert.Equal([1], lost.Ranks);
        Assert.Equal("node n1 lost: silo S declared dead", lost.Reason);
        Assert.Equal([0, 2], d.State.Leases.Keys.Order());
        Assert.Empty(_d.Decide(d.State, new LivenessEvent.HostDead([1], "again"), _time.GetUtcNow()).Actions); // reported once
    }

    [Fact]
    public void ABatchOfRenewalsCountsEachLeaseFromItsBeatsArrivalNotFromTheBatch()
    {
        var s = Started(3);
        var t0 = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromSeconds(6));
        var beats = new[] { t0 + TimeSpan.FromSeconds(1), t0 + TimeSpan.FromSeconds(5), t0 + TimeSpan.FromSeconds(2), t0 + TimeSpan.FromSeconds(4) };
        // Rank 0 beat at 1 s, rank 1 at 5 s, rank 0 again at 2 s (arrival order: its last beat counts), rank 2 at 4 s; applied at 6 s.
        s = _d.Decide(s, new LivenessEvent.Renew([0, 1, 0, 2], beats), _time.GetUtcNow()).State;
        Assert.Equal(t0 + TimeSpan.FromSeconds(12), s.Leases[0]);
        Assert.Equal(t0 + TimeSpan.FromSeconds(15), s.Leases[1]);
        Assert.Equal(t0 + TimeSpan.FromSeconds(14), s.Leases[2]);
        _time.Advance(TimeSpan.FromSeconds(6.5)); // 12.5 s: rank 0's lease (2 s + 10 s) is over, the others' are not
        var lost = Assert.IsType<RanksLost>(Assert.Single(Tick(s).Actions));
        Assert.Equal([0], lost.Ranks);
        Assert.Throws<ArgumentException>(() => _d.Decide(s, new LivenessEvent.Renew([0, 1], [t0]), _time.GetUtcNow()));
    }

    [Fact]
    public void AFirstRenewalEndsTheGraceSoARankThatBeatOnceAndHangsLapsesAfterOneLease()
    {
        var d = new LivenessDecider(new LivenessOptions(TimeSpan.FromSeconds(5), FirstBeatGrace: TimeSpan.FromSeconds(30)));
        var s = d.Decide(LivenessState.Empty, new LivenessEvent.Start(2), _time.GetUtcNow()).State;
        _time.Advance(TimeSpan.FromSeconds(1));
        s = d.Decide(s, new LivenessEvent.Renew([1]), _time.GetUtcNow()).State; // then rank 1 hangs (SIGSTOP)
        _time.Advance(TimeSpan.FromSeconds(6));
        var lost = Assert.IsType<RanksLost>(Assert.Single(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal([1], lost.Ranks); // 7 s after the start, not 30; rank 0 has not beaten yet and keeps its grace
    }

    [Fact]
    public void AGenerationFormedByRecoveryHasNoGraceAndItsLeasesLastOneLease()
    {
        var d = new LivenessDecider(new LivenessOptions(TimeSpan.FromSeconds(5), FirstBeatGrace: TimeSpan.FromSeconds(30)));
        var s = d.Decide(LivenessState.Empty, new LivenessEvent.Start(2, Recovery: true), _time.GetUtcNow()).State;
        _time.Advance(TimeSpan.FromSeconds(4));
        s = d.Decide(s, new LivenessEvent.Renew([0]), _time.GetUtcNow()).State;
        _time.Advance(TimeSpan.FromSeconds(1.5));
        var lost = Assert.IsType<RanksLost>(Assert.Single(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal([1], lost.Ranks); // 5.5 s after the start, not 30
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
        var fail = Assert.IsType<RanksLost>(Assert.Single(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal([0], fail.Ranks);
        _time.Advance(TimeSpan.FromSeconds(3)); // renewals after the grace last 5 s, not 30: all lapse, the reason stays short
        var all = Assert.IsType<RanksLost>(Assert.Single(d.Decide(s, new LivenessEvent.Tick(), _time.GetUtcNow()).Actions));
        Assert.Equal(20, all.Ranks.Count);
        Assert.EndsWith("(also lapsed: ranks 1, 2, 3, 4, 5, 6, 7, 8 and 11 more)", all.Reason);
    }

    [Fact]
    public void NonZeroExitLosesTheRankNamingRankAndCode()
    {
        var d = _d.Decide(Started(2), new LivenessEvent.Exited(1, 137, "killed"), _time.GetUtcNow());
        var lost = Assert.IsType<RanksLost>(Assert.Single(d.Actions));
        Assert.Equal([1], lost.Ranks);
        Assert.Equal("rank 1 exited with code 137: killed", lost.Reason);
        Assert.Equal([0], d.State.Leases.Keys);
        Assert.Empty(_d.Decide(d.State, new LivenessEvent.Exited(1, 137, "killed"), _time.GetUtcNow()).Actions); // a duplicate report
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
