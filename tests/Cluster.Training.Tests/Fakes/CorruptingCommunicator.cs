using Cluster.Collectives;

namespace Cluster.Training.Tests.Fakes;

/// <summary>Passes every call on and flips the first byte that the n-th byte broadcast receives.</summary>
internal sealed class CorruptingCommunicator(ICommunicator inner, int corruptByteBroadcast) : DelegatingCommunicator(inner)
{
    private int _byteBroadcasts;

    public override async ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default)
    {
        await Inner.BroadcastAsync(data, root, cancellationToken);
        if (typeof(T) == typeof(byte) && ++_byteBroadcasts == corruptByteBroadcast && data.Length > 0)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Span);
            bytes[0] ^= 0xFF;
        }
    }
}
