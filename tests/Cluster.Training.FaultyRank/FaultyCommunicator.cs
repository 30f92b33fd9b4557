using Cluster.Collectives;

namespace Cluster.Training.FaultyRank;

/// <summary>
/// Passes every call to <paramref name="inner"/>; kills the process at the <paramref name="plan"/>'s phase. A gradient
/// all-reduce is a float average of more than one element (the buckets; the step vote alone is one element); the state
/// transfer's payload is its second byte broadcast (after the directory).
/// </summary>
internal sealed class FaultyCommunicator(ICommunicator inner, FaultPlan plan) : ICommunicator
{
    private int _gradientReduces;
    private int _byteBroadcasts;

    public string JobId => inner.JobId;
    public long Generation => inner.Generation;
    public int Rank => inner.Rank;
    public int WorldSize => inner.WorldSize;

    public async ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var gradient = typeof(T) == typeof(float) && op == ReduceOp.Average && data.Length > 1;
        var n = gradient ? ++_gradientReduces : 0;
        var pending = inner.AllReduceAsync(data, op, cancellationToken);
        if (gradient && plan.Phase == "allreduce" && n == plan.Nth) plan.Fire($"gradient all-reduce {n} of generation {Generation}, {data.Length} floats, started");
        await pending.ConfigureAwait(false);
        if (gradient && plan.Phase == "vote" && n == plan.Nth) plan.Fire($"gradient all-reduce {n} of generation {Generation} returned with the vote, step not applied");
    }

    public async ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var payload = typeof(T) == typeof(byte) && ++_byteBroadcasts == 2;
        var pending = inner.BroadcastAsync(data, root, cancellationToken);
        if (payload && plan.Phase == "transfer")
            plan.Fire($"state transfer of generation {Generation}: {data.Length} bytes from rank {root} to rank {Rank}, started");
        await pending.ConfigureAwait(false);
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
