using Cluster.Coordinator.Contracts;
using Cluster.Coordinator.Decisions;

namespace Cluster.Coordinator.Tests.Decisions;

public sealed class JobLifecycleTests
{
    [Fact]
    public void HappyPathReachesCompletedThroughCheckpointing()
    {
        var state = JobState.Pending;
        foreach (var (evt, expected) in new[]
        {
            (LifecycleEvent.MemberJoined, JobState.Rendezvous),
            (LifecycleEvent.MemberJoined, JobState.Rendezvous),
            (LifecycleEvent.GenerationStarted, JobState.Running),
            (LifecycleEvent.CheckpointOpened, JobState.Checkpointing),
            (LifecycleEvent.CheckpointResolved, JobState.Running),
            (LifecycleEvent.AllRanksFinished, JobState.Completed),
        })
        {
            var d = JobLifecycle.Decide(state, evt);
            Assert.Null(d.Rejection);
            Assert.Equal(expected, d.State);
            state = d.State;
        }
    }

    [Theory]
    [InlineData(JobState.Pending, LifecycleEvent.GenerationStarted)]
    [InlineData(JobState.Pending, LifecycleEvent.CheckpointOpened)]
    [InlineData(JobState.Rendezvous, LifecycleEvent.AllRanksFinished)]
    [InlineData(JobState.Running, LifecycleEvent.CheckpointResolved)]
    [InlineData(JobState.Running, LifecycleEvent.MemberJoined)]
    [InlineData(JobState.Checkpointing, LifecycleEvent.CheckpointOpened)]
    [InlineData(JobState.Checkpointing, LifecycleEvent.AllRanksFinished)]
    [InlineData(JobState.Rendezvous, LifecycleEvent.RecoveryStarted)]
    [InlineData(JobState.Running, LifecycleEvent.RecoveryCompleted)]
    [InlineData(JobState.Rendezvous, LifecycleEvent.RestartStarted)]
    [InlineData(JobState.Pending, LifecycleEvent.RestartStarted)]
    [InlineData(JobState.Completed, LifecycleEvent.Failure)]
    [InlineData(JobState.Failed, LifecycleEvent.Cancel)]
    [InlineData(JobState.Cancelled, LifecycleEvent.MemberJoined)]
    public void InvalidTransitionIsRejectedAndStateKept(JobState from, LifecycleEvent evt)
    {
        var d = JobLifecycle.Decide(from, evt);
        Assert.Equal(from, d.State);
        Assert.NotNull(d.Rejection);
        Assert.Contains(evt.ToString(), d.Rejection);
    }

    [Theory]
    [InlineData(JobState.Running)]
    [InlineData(JobState.Checkpointing)]
    [InlineData(JobState.Recovering)]
    public void LosingEveryRankGoesBackToRendezvousAndTheNextGenerationRuns(JobState from)
    {
        var back = JobLifecycle.Decide(from, LifecycleEvent.RestartStarted);
        Assert.Equal(JobState.Rendezvous, back.State);
        Assert.Equal(JobState.Running, JobLifecycle.Decide(back.State, LifecycleEvent.GenerationStarted).State);
    }

    [Theory]
    [InlineData(JobState.Pending)]
    [InlineData(JobState.Rendezvous)]
    [InlineData(JobState.Running)]
    [InlineData(JobState.Checkpointing)]
    public void FailureAndCancelAreAcceptedFromEveryNonTerminalState(JobState from)
    {
        Assert.Equal(JobState.Failed, JobLifecycle.Decide(from, LifecycleEvent.Failure).State);
        Assert.Equal(JobState.Cancelled, JobLifecycle.Decide(from, LifecycleEvent.Cancel).State);
    }
}
