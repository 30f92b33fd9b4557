namespace Cluster.Training.Checkpoints;

/// <summary>A captured part defined by a write delegate and what to release once written.</summary>
internal sealed class DelegateCapturedPart(string name, Action<Stream> write, Action release) : ICapturedPart
{
    private int _disposed;

    public string Name { get; } = name;

    public void Write(Stream destination)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        write(destination);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) release();
    }
}
