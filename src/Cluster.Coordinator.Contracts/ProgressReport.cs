namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Progress of one rank after finishing <see cref="Step"/>, carried to the job grain in its node's <see cref="NodeBeat"/>.
/// <see cref="Epoch"/>/<see cref="Cursor"/> is the sampler position after the step. <see cref="Checkpoint"/> asks the
/// checkpoint consensus for a save at this step (interval steps open one anyway).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProgressReport(
    long Step,
    int Epoch,
    long Cursor,
    double Loss,
    double SamplesPerSecond,
    CheckpointRequestKind Checkpoint = CheckpointRequestKind.None);

/// <summary>What a progress report asks of the checkpoint consensus.</summary>
public enum CheckpointRequestKind
{
    /// <summary>Nothing (interval steps still open a checkpoint).</summary>
    None,
    /// <summary>Save at this step (interval, end of epoch).</summary>
    Save,
    /// <summary>Save at this step, the last of the run.</summary>
    Final,
}
