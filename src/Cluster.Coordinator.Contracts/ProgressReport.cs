namespace Cluster.Coordinator.Contracts;

/// <summary>
/// Sent by a rank after finishing <see cref="Step"/>. <see cref="Epoch"/>/<see cref="Cursor"/> is the
/// sampler position after the step. Also renews the lease. At checkpoint boundaries the reply opens a checkpoint.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ProgressReport(
    string MemberId,
    long Generation,
    long FencingToken,
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
