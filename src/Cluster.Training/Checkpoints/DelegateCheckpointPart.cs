namespace Cluster.Training.Checkpoints;

/// <summary>A part defined by two delegates.</summary>
public sealed class DelegateCheckpointPart(string name, Action<Stream> write, Action<Stream> read) : ICheckpointPart
{
    public string Name { get; } = CheckpointNames.ValidatePart(name);
    public void Write(Stream destination) => write(destination);
    public void Read(Stream source) => read(source);
}
