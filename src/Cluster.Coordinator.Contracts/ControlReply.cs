namespace Cluster.Coordinator.Contracts;

/// <summary>Reply to rank calls; survivors learn of a job failure through <see cref="ControlDirective.Abort"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record ControlReply(ControlDirective Directive, string? Reason, CheckpointDirective? Checkpoint)
{
    /// <summary>Plain "keep going".</summary>
    public static ControlReply Continue { get; } = new(ControlDirective.Continue, null, null);
}
