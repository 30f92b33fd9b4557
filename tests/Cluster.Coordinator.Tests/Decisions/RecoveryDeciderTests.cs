using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class RecoveryDeciderTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static RanksLost Lost(int rank, string why = "exited with code 137") => new([rank], $"rank {rank} {why}");

    [Fact]
    public void ALostRankRegroupsTheSurvivorsWhileTheBudgetLastsThenTheJobFailsWithEveryFailureListed()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 1, MaxRestarts: 2, Wait));
        var first = d.Decide(RecoveryState.Empty, Lost(1), survivors: 2, T0);
        var regroup = Assert.IsType<Regroup>(Assert.Single(first.Actions));
        Assert.Equal([1], regroup.Lost);
        Assert.Equal(1, first.State.Restarts);
        var second = d.Decide(first.State, Lost(0, "lease lapsed"), survivors: 1, T0);
        Assert.IsType<Regroup>(Assert.Single(second.Actions));
        var third = d.Decide(second.State, Lost(0), survivors: 1, T0);
        var fail = Assert.IsType<FailJob>(Assert.Single(third.Actions));
        Assert.Contains("restart budget of 2 is spent", fail.Reason);
        Assert.Contains("1) rank 1 exited with code 137; 2) rank 0 lease lapsed; 3) rank 0 exited with code 137", fail.Reason);
        Assert.Equal(2, third.State.Restarts);
    }

    [Fact]
    public void LosingEveryRankRestartsFromTheCheckpointWhileTheBudgetLasts()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 2, MaxRestarts: 1, Wait));
        var first = d.Decide(RecoveryState.Empty, Lost(0), survivors: 0, T0);
        var restart = Assert.IsType<RestartFromCheckpoint>(Assert.Single(first.Actions));
        Assert.Equal("rank 0 exited with code 137; no rank left: the job restarts from its newest committed checkpoint", restart.Reason);
        Assert.Equal(1, first.State.Restarts);
        var fail = Assert.IsType<FailJob>(Assert.Single(d.Decide(first.State, Lost(1), survivors: 0, T0).Actions));
        Assert.Contains("the restart budget of 1 is spent", fail.Reason);
    }

    [Fact]
    public void TooFewSurvivorsWaitForReplacementsThenTheJobFailsAfterTheWaitWithEveryFailureListed()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 2, MaxRestarts: 5, Wait));
        var lost = d.Decide(RecoveryState.Empty, Lost(1), survivors: 1, T0);
        var await_ = Assert.IsType<AwaitRanks>(Assert.Single(lost.Actions));
        Assert.Equal(2, await_.Quorum);
        Assert.Equal([1], await_.Lost);
        Assert.Equal("rank 1 exited with code 137; 1 rank(s) left, fewer than workers.minRanks 2: waiting up to 60 s for replacements", await_.Reason);
        Assert.Equal(1, lost.State.Restarts);
        Assert.Empty(d.DecideWait(lost.State, T0, waiting: 1, T0 + TimeSpan.FromSeconds(59.9)).Actions);
        var fail = Assert.IsType<FailJob>(Assert.Single(d.DecideWait(lost.State, T0, waiting: 1, T0 + Wait).Actions));
        Assert.Equal("1 rank(s) waited 60 s (restart.waitSeconds) and the job did not regain workers.minRanks 2; failures: 1) rank 1 exited with code 137", fail.Reason);
        Assert.Null(fail.Rank);
    }

    [Fact]
    public void ANoBudgetSpecFailsOnTheFirstLossAndBadOptionsAreRefused()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 1, MaxRestarts: 0, Wait));
        Assert.IsType<FailJob>(Assert.Single(d.Decide(RecoveryState.Empty, Lost(0), survivors: 3, T0).Actions));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(0, 1, Wait)));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(1, -1, Wait)));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(1, 1, TimeSpan.Zero)));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(1, 1, Wait) { Window = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(1, 1, Wait) { ProbationFailures = -1 }));
    }

    [Fact]
    public void Losses_older_than_the_window_no_longer_spend_the_budget()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 1, MaxRestarts: 2, Wait) { Window = TimeSpan.FromMinutes(60) });
        var s = d.Decide(RecoveryState.Empty, Lost(1), survivors: 1, T0).State;
        s = d.Decide(s, Lost(1), survivors: 1, T0 + TimeSpan.FromMinutes(30)).State;
        var spent = Assert.IsType<FailJob>(Assert.Single(d.Decide(s, Lost(1), survivors: 1, T0 + TimeSpan.FromMinutes(59)).Actions));
        Assert.Contains("the restart budget of 2 is spent within 60 min (restart.windowMinutes)", spent.Reason);
        // An hour after the first loss it is out of the window: the third loss is recovered from.
        var later = d.Decide(s, Lost(1), survivors: 1, T0 + TimeSpan.FromMinutes(61));
        Assert.IsType<Regroup>(Assert.Single(later.Actions));
        Assert.Equal(3, later.State.Restarts);
    }

    [Fact]
    public void A_node_with_enough_losses_in_the_window_is_on_probation_until_the_cooldown_after_its_last()
    {
        var d = new RecoveryDecider(new RecoveryOptions(1, 10, Wait) { Window = TimeSpan.FromMinutes(60), ProbationFailures = 3, Probation = TimeSpan.FromMinutes(10) });
        DateTimeOffset[] losses = [T0, T0 + TimeSpan.FromMinutes(1), T0 + TimeSpan.FromMinutes(2)];
        Assert.Null(d.ProbationUntil(losses[..2], T0 + TimeSpan.FromMinutes(2))); // two are not enough
        Assert.Equal(T0 + TimeSpan.FromMinutes(12), d.ProbationUntil(losses, T0 + TimeSpan.FromMinutes(3)));
        Assert.Null(d.ProbationUntil(losses, T0 + TimeSpan.FromMinutes(12))); // the cooldown is over
        Assert.Null(d.ProbationUntil(losses, T0 + TimeSpan.FromMinutes(61)));
        Assert.Null(new RecoveryDecider(new RecoveryOptions(1, 10, Wait)).ProbationUntil(losses, T0 + TimeSpan.FromMinutes(3))); // 0: off
        Assert.Contains("3 or more of its ranks lost within 60 min (restart.probationFailures)", d.ProbationRule);
    }
}
