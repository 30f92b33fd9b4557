namespace Cluster.Collectives;

/// <summary>
/// A process group of <see cref="WorldSize"/> ranks in one generation of one job, in the spirit of
/// torch.distributed's ProcessGroup. Every operation is collective (all ranks call it in the same order)
/// except <see cref="SendAsync{T}"/>/<see cref="RecvAsync{T}"/>. Every operation has a deadline
/// (<see cref="CommunicatorOptions.OperationTimeout"/>) and fails with a <see cref="CollectiveException"/>
/// naming the operation, the generation and the failing peer; none ever hangs.
/// Element types: float, double, Half, BFloat16, int, long (byte as well for Send/Recv/Broadcast/AllGather).
/// </summary>
public interface ICommunicator : IAsyncDisposable
{
    string JobId { get; }
    long Generation { get; }
    int Rank { get; }
    int WorldSize { get; }

    /// <summary>In-place all-reduce of <paramref name="data"/> across all ranks.</summary>
    ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged;

    /// <summary>Copies <paramref name="data"/> of rank <paramref name="root"/> into every rank's <paramref name="data"/>.</summary>
    ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged;

    /// <summary><paramref name="output"/> (length WorldSize × input.Length) receives rank r's input at offset r × input.Length.</summary>
    ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged;

    /// <summary><paramref name="input"/> (length WorldSize × output.Length) is reduced element-wise; rank r receives block r.</summary>
    ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged;

    ValueTask BarrierAsync(CancellationToken cancellationToken = default);

    /// <summary>Point-to-point send; matched in order by a <see cref="RecvAsync{T}"/> of the same length on <paramref name="destination"/>.</summary>
    ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged;

    ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged;

    /// <summary>Fails every pending and later operation at once with <see cref="CommunicatorAbortedException"/>.
    /// Safe to call from any thread, any number of times. The coordinator calls it on a membership change.</summary>
    void Abort(string reason);
}
