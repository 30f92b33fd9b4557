using Cluster.Coordinator.Contracts;

namespace Cluster.Coordinator.Decisions;

/// <summary>Inputs of <see cref="CheckpointDecider"/>.</summary>
public abstract record CheckpointEvent
{
    /// <summary>
    /// A rank of <paramref name="Generation"/> finished <paramref name="Step"/>: opens a checkpoint at interval boundaries and
    /// when the rank asks for one (<paramref name="Requested"/>: end of epoch, last step); <paramref name="Final"/> marks the
    /// last save of a finished run.
    /// </summary>
    public sealed record StepCompleted(long Step, long Generation, int WorldSize, bool Requested = false, bool Final = false) : CheckpointEvent;

    /// <summary>A rank's phase-one vote.</summary>
    public sealed record Ack(CheckpointAck Vote) : CheckpointEvent;

    /// <summary>Time passed: abort an open checkpoint past its deadline.</summary>
    public sealed record Tick : CheckpointEvent;

    /// <summary>The job failed or a rank died: abort an open checkpoint.</summary>
    public sealed record Abort(string Reason) : CheckpointEvent;
}
