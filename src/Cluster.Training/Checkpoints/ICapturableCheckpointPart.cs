namespace Cluster.Training.Checkpoints;

/// <summary>
/// A part whose state can be copied at a step boundary faster than it can be serialised. <see cref="Capture"/> runs
/// on the training thread (this is the checkpoint's stall); the returned copy is serialised later on another thread,
/// while training goes on, and disposed after that. The bytes it writes must equal <see cref="ICheckpointPart.Write"/>'s
/// at the moment of the capture.
/// </summary>
public interface ICapturableCheckpointPart : ICheckpointPart
{
    ICapturedPart Capture();
}
