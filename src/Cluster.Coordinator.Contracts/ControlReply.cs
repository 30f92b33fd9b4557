namespace Cluster.Coordinator.Contracts;

/// <summary>Reply to rank calls; survivors learn of a job failure through <see cref="ControlDirective.Abort"/>.</summary>
[GenerateSerializer, Immutable]
/// <see cref="CheckpointBusy"/>: the caller asked for a checkpoint while an earlier one is still open (ask again).
public sealed record ControlReply(ControlDirective Directive, string? Reason, CheckpointDirective? Checkpoint, bool CheckpointBusy = false)
{
    /// <summary>Plain "keep going".</summary>
    public static ControlReply Continue { get; } = new(ControlDirective.Continue, null, null);
}
