namespace Cluster.Training.Checkpoints;

/// <summary>
/// One kind of training state stored as one file of a checkpoint (model, optimizer, scheduler, ...).
/// <see cref="Write"/> is called on the training thread at a step boundary and should be a fast in-memory
/// serialisation; the bytes are persisted in the background. <see cref="Read"/> restores from a verified file.
/// </summary>
public interface ICheckpointPart
{
    /// <summary>The file name inside the checkpoint directory (letters, digits, '.', '-', '_').</summary>
    string Name { get; }

    void Write(Stream destination);

    void Read(Stream source);
}
