using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class RecoveryDeciderTests
{
    private static RanksLost Lost(int rank, string why = "exited with code 137") => new([rank], $"rank {rank} {why}");

    [Fact]
    public void ALostRankRegroupsTheSurvivorsWhileTheBudgetLastsThenTheJobFailsWithEveryFailureListed()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 1, MaxRestarts: 2));
        var first = d.Decide(RecoveryState.Empty, Lost(1), survivors: 2);
        var regroup = Assert.IsType<Regroup>(Assert.Single(first.Actions));
        Assert.Equal([1], regroup.Lost);
        Assert.Equal(1, first.State.Restarts);
        var second = d.Decide(first.State, Lost(0, "lease lapsed"), survivors: 1);
        Assert.IsType<Regroup>(Assert.Single(second.Actions));
        var third = d.Decide(second.State, Lost(0), survivors: 1);
        var fail = Assert.IsType<FailJob>(Assert.Single(third.Actions));
        Assert.Contains("restart budget of 2 is spent", fail.Reason);
        Assert.Contains("1) rank 1 exited with code 137; 2) rank 0 lease lapsed; 3) rank 0 exited with code 137", fail.Reason);
        Assert.Equal(2, third.State.Restarts);
    }

    [Fact]
    public void LosingEveryRankRestartsFromTheCheckpointWhileTheBudgetLasts()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 2, MaxRestarts: 1));
        var first = d.Decide(RecoveryState.Empty, Lost(0), survivors: 0);
        var restart = Assert.IsType<RestartFromCheckpoint>(Assert.Single(first.Actions));
        Assert.Equal("rank 0 exited with code 137; no rank left: the job restarts from its newest committed checkpoint", restart.Reason);
        Assert.Equal(1, first.State.Restarts);
        var fail = Assert.IsType<FailJob>(Assert.Single(d.Decide(first.State, Lost(1), survivors: 0).Actions));
        Assert.Contains("fewer than workers.minRanks 2", fail.Reason);
    }

    [Fact]
    public void TooFewSurvivorsFailTheJobNamingTheMinimum()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 2, MaxRestarts: 5));
        var fail = Assert.IsType<FailJob>(Assert.Single(d.Decide(RecoveryState.Empty, Lost(1), survivors: 1).Actions));
        Assert.Equal("rank 1 exited with code 137; 1 rank(s) left, fewer than workers.minRanks 2", fail.Reason);
        Assert.Equal(1, fail.Rank);
    }

    [Fact]
    public void ANoBudgetSpecFailsOnTheFirstLossAndBadOptionsAreRefused()
    {
        var d = new RecoveryDecider(new RecoveryOptions(MinRanks: 1, MaxRestarts: 0));
        Assert.IsType<FailJob>(Assert.Single(d.Decide(RecoveryState.Empty, Lost(0), survivors: 3).Actions));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(0, 1)));
        Assert.Throws<ArgumentException>(() => new RecoveryDecider(new RecoveryOptions(1, -1)));
    }
}
