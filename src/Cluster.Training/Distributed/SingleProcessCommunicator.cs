using Cluster.Collectives;

namespace Cluster.Training.Distributed;

/// <summary>The trivial process group of one rank: every collective is the identity. Used for single-process runs.</summary>
public sealed class SingleProcessCommunicator(string jobId = "local") : ICommunicator
{
    private volatile string? abortReason;

    public string JobId { get; } = jobId;
    public long Generation => 0;
    public int Rank => 0;
    public int WorldSize => 1;

    public ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged => Check("AllReduce", cancellationToken);

    public ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged =>
        root == 0 ? Check("Broadcast", cancellationToken) : throw new ArgumentOutOfRangeException(nameof(root), root, "world size is 1");

    public ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged
    {
        if (output.Length != input.Length) throw new ArgumentException("output must have WorldSize × input.Length elements", nameof(output));
        input.CopyTo(output);
        return Check("AllGather", cancellationToken);
    }

    public ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        if (output.Length != input.Length) throw new ArgumentException("input must have WorldSize × output.Length elements", nameof(input));
        input.CopyTo(output);
        return Check("ReduceScatter", cancellationToken);
    }

    public ValueTask BarrierAsync(CancellationToken cancellationToken = default) => Check("Barrier", cancellationToken);

    public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged =>
        throw new InvalidOperationException("a single rank has no peer to send to");

    public ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged =>
        throw new InvalidOperationException("a single rank has no peer to receive from");

    public void Abort(string reason) => abortReason ??= reason;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private ValueTask Check(string operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (abortReason is { } reason) throw new CommunicatorAbortedException(operation, Generation, reason);
        return ValueTask.CompletedTask;
    }
}
