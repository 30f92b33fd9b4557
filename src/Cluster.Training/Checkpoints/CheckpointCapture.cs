namespace Cluster.Training.Checkpoints;

/// <summary>
/// Every part of one checkpoint frozen at a step boundary (<see cref="CheckpointStore.Capture"/>), not yet serialised.
/// <see cref="CheckpointStore.Serialize"/> turns it into a <see cref="CheckpointSnapshot"/> on any thread and disposes it.
/// </summary>
public sealed class CheckpointCapture(long step, IReadOnlyList<ICapturedPart> parts) : IDisposable
{
    public long Step { get; } = step;
    public IReadOnlyList<ICapturedPart> Parts { get; } = parts;

    public void Dispose()
    {
        foreach (var part in Parts) part.Dispose();
    }
}
