namespace Cluster.Collectives;

/// <summary>
/// Passes every call to <see cref="Inner"/>: the base of a communicator decorator (tracing, metrics, fault injection)
/// that overrides only the operations it watches, e.g. in a rank host of one's own (`cluster run --rank-host`).
/// </summary>
public abstract class DelegatingCommunicator(ICommunicator inner) : ICommunicator
{
    /// <summary>The communicator every call goes to.</summary>
    protected ICommunicator Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    public string JobId => Inner.JobId;
    public long Generation => Inner.Generation;
    public int Rank => Inner.Rank;
    public int WorldSize => Inner.WorldSize;

    public virtual ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged =>
        Inner.AllReduceAsync(data, op, cancellationToken);

    public virtual ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged =>
        Inner.BroadcastAsync(data, root, cancellationToken);

    public virtual ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged =>
        Inner.AllGatherAsync(input, output, cancellationToken);

    public virtual ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged =>
        Inner.ReduceScatterAsync(input, output, op, cancellationToken);

    public virtual ValueTask BarrierAsync(CancellationToken cancellationToken = default) => Inner.BarrierAsync(cancellationToken);

    public virtual ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged =>
        Inner.SendAsync(data, destination, cancellationToken);

    public virtual ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged =>
        Inner.RecvAsync(data, source, cancellationToken);

    public virtual void Abort(string reason) => Inner.Abort(reason);

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Inner.DisposeAsync();
    }
}
