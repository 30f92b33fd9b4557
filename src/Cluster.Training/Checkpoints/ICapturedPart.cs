namespace Cluster.Training.Checkpoints;

/// <summary>A part's state frozen at a step boundary, serialisable on any thread; disposing frees the copy.</summary>
public interface ICapturedPart : IDisposable
{
    string Name { get; }

    void Write(Stream destination);
}
