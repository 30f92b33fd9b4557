using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>
/// The job state machine: Pending → Rendezvous → Running ⇄ Checkpointing → Completed | Failed | Cancelled; a lost rank
/// takes Running or Checkpointing to Recovering, and the new generation's first completed step back to Running; the loss
/// of every rank takes them back to Rendezvous (a restart from the newest committed checkpoint).
/// Failure and Cancel are accepted from any non-terminal state; everything else not listed is rejected.
/// </summary>
public static class JobLifecycle
{
    /// <summary>Applies <paramref name="evt"/> to <paramref name="state"/>.</summary>
    public static Decision<JobState> Decide(JobState state, LifecycleEvent evt)
    {
        if (state.IsTerminal())
            return Decision<JobState>.Reject(state, $"job is {state}; {evt} is not allowed in a terminal state");
        JobState? next = (state, evt) switch
        {
            (_, LifecycleEvent.Failure) => JobState.Failed,
            (_, LifecycleEvent.Cancel) => JobState.Cancelled,
            (JobState.Pending or JobState.Rendezvous, LifecycleEvent.MemberJoined) => JobState.Rendezvous,
            (JobState.Rendezvous, LifecycleEvent.GenerationStarted) => JobState.Running,
            (JobState.Running, LifecycleEvent.CheckpointOpened) => JobState.Checkpointing,
            (JobState.Checkpointing, LifecycleEvent.CheckpointResolved) => JobState.Running,
            (JobState.Running, LifecycleEvent.AllRanksFinished) => JobState.Completed,
            (JobState.Running or JobState.Checkpointing or JobState.Recovering, LifecycleEvent.RecoveryStarted) => JobState.Recovering,
            (JobState.Recovering, LifecycleEvent.GenerationStarted) => JobState.Recovering,
            (JobState.Recovering, LifecycleEvent.RecoveryCompleted) => JobState.Running,
            (JobState.Running or JobState.Checkpointing or JobState.Recovering, LifecycleEvent.RestartStarted) => JobState.Rendezvous,
            (JobState.Recovering, LifecycleEvent.AllRanksFinished) => JobState.Completed,
            (JobState.Pending, LifecycleEvent.LineageComplete) => JobState.Completed,
            _ => null,
        };
        return next is { } s
            ? new Decision<JobState>(s, [])
            : Decision<JobState>.Reject(state, $"transition {evt} is not allowed from {state}");
    }
}
