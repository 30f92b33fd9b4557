namespace Cluster.Coordinator.Decisions;

/// <summary>Inputs of <see cref="JobLifecycle"/>.</summary>
public enum LifecycleEvent
{
    /// <summary>A member joined the rendezvous.</summary>
    MemberJoined,
    /// <summary>The rendezvous assigned ranks.</summary>
    GenerationStarted,
    /// <summary>A checkpoint was opened at a step boundary.</summary>
    CheckpointOpened,
    /// <summary>The open checkpoint was committed or aborted.</summary>
    CheckpointResolved,
    /// <summary>Every rank exited cleanly.</summary>
    AllRanksFinished,
    /// <summary>A rank failed or lapsed.</summary>
    Failure,
    /// <summary>The user cancelled.</summary>
    Cancel,
    /// <summary>At submit: the newest checkpoint of the spec's lineage is the final one of a finished run.</summary>
    LineageComplete,
    /// <summary>Ranks were lost and the recovery decider chose to go on with the survivors.</summary>
    RecoveryStarted,
    /// <summary>The new generation completed its first step.</summary>
    RecoveryCompleted,
    /// <summary>Every rank was lost: the rendezvous reopens and the job restarts from its newest committed checkpoint.</summary>
    RestartStarted,
}
