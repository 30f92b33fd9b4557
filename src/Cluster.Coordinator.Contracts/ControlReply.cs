namespace Cluster.Coordinator.Contracts;

/// <summary>Reply to rank calls; survivors learn of a job failure through <see cref="ControlDirective.Abort"/>.</summary>
[GenerateSerializer, Immutable]
/// <see cref="CheckpointBusy"/>: the caller asked for a checkpoint while an earlier one is still open (ask again).
/// <see cref="AtStepBoundary"/> (with <see cref="ControlDirective.Regroup"/>): the next generation admits ranks and no rank
/// was lost, so the ranks end the old one together at the next step boundary (their per-step vote) instead of aborting.
/// <see cref="Released"/> (with a regroup at a step boundary): the caller's node leaves the job (drained, or scaled down):
/// its ranks end the old generation with the others, then exit 0 instead of taking a next assignment.
public sealed record ControlReply(ControlDirective Directive, string? Reason, CheckpointDirective? Checkpoint, bool CheckpointBusy = false, bool AtStepBoundary = false,
    bool Released = false)
{
    /// <summary>Plain "keep going".</summary>
    public static ControlReply Continue { get; } = new(ControlDirective.Continue, null, null);
}
