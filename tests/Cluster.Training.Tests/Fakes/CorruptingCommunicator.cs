using Cluster.Collectives;

namespace Cluster.Training.Tests.Fakes;

/// <summary>Passes every call to <paramref name="inner"/> and flips the first byte that the n-th byte broadcast receives.</summary>
internal sealed class CorruptingCommunicator(ICommunicator inner, int corruptByteBroadcast) : ICommunicator
{
    private int _byteBroadcasts;

    public string JobId => inner.JobId;
    public long Generation => inner.Generation;
    public int Rank => inner.Rank;
    public int WorldSize => inner.WorldSize;

    public ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged =>
        inner.AllReduceAsync(data, op, cancellationToken);

    public async ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged
    {
        await inner.BroadcastAsync(data, root, cancellationToken);
        if (typeof(T) == typeof(byte) && ++_byteBroadcasts == corruptByteBroadcast && data.Length > 0)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Span);
            bytes[0] ^= 0xFF;
        }
    }

    public ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged =>
        inner.AllGatherAsync(input, output, cancellationToken);

    public ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged =>
        inner.ReduceScatterAsync(input, output, op, cancellationToken);

    public ValueTask BarrierAsync(CancellationToken cancellationToken = default) => inner.BarrierAsync(cancellationToken);

    public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged =>
        inner.SendAsync(data, destination, cancellationToken);

    public ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged =>
        inner.RecvAsync(data, source, cancellationToken);

    public void Abort(string reason) => inner.Abort(reason);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
