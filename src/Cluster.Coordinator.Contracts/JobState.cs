namespace Cluster.Coordinator.Contracts;

/// <summary>Lifecycle state of a training job, owned by the job grain.</summary>
public enum JobState
{
    /// <summary>Submitted and persisted; no worker process has joined yet.</summary>
    Pending = 0,

    /// <summary>At least one member joined; waiting for a quorum (min workers plus a settle window, or max workers).</summary>
    Rendezvous = 1,

    /// <summary>A generation is assigned: every admitted member has a rank, peers and the job secret; training runs.</summary>
    Running = 2,

    /// <summary>A checkpoint is open (two-phase): ranks are writing files and acknowledging; training is paused at the step boundary.</summary>
    Checkpointing = 3,

    /// <summary>
    /// A rank of the running generation was lost: the survivors form the next generation at once and keep their state;
    /// back to <see cref="Running"/> at the new generation's first completed step (<see cref="JobStatus.Recoveries"/>).
    /// </summary>
    Recovering = 4,

    /// <summary>Terminal: every rank of the generation exited cleanly.</summary>
    Completed = 5,

    /// <summary>Terminal: a rank lapsed its lease or exited with an error; <see cref="JobStatus.FailureReason"/> names it.</summary>
    Failed = 6,

    /// <summary>Terminal: cancelled by the user.</summary>
    Cancelled = 7,
}
