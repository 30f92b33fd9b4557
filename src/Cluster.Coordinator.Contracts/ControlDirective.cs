namespace Cluster.Coordinator.Contracts;

/// <summary>What a rank must do after a heartbeat, progress report or ack.</summary>
public enum ControlDirective
{
    /// <summary>Keep training (and honour <see cref="ControlReply.Checkpoint"/> when set).</summary>
    Continue = 0,
    /// <summary>The job failed or was cancelled: stop and exit non-zero.</summary>
    Abort = 1,
    /// <summary>The caller's generation or fencing token is stale: stop without touching shared state.</summary>
    Fenced = 2,
    /// <summary>
    /// The caller's generation is over, but its node has ranks in the next one (elastic recovery): abort the collectives,
    /// keep the process and its training state, and take the new assignment.
    /// </summary>
    Regroup = 3,
}
