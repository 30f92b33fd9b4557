namespace Cluster.Agent.Local;

/// <summary>An <see cref="IRankOutbox"/> over a connected stream; writers are serialised.</summary>
internal sealed class StreamOutbox(Stream stream) : IRankOutbox, IDisposable
{
    private readonly SemaphoreSlim _write = new(1, 1);

    public async Task SendAsync(LocalMessage message, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
        try { await LocalFrames.WriteAsync(stream, message, cancellationToken).ConfigureAwait(false); }
        finally { _write.Release(); }
    }

    public void Dispose() => _write.Dispose();
}
