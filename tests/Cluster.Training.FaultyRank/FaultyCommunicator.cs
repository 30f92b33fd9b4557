using Cluster.Collectives;

namespace Cluster.Training.FaultyRank;

/// <summary>
/// Passes every call on; kills the process at the <paramref name="plan"/>'s phase. A gradient all-reduce is a float
/// average of more than one element (the buckets; the step vote alone is one element); the state transfer's payload is
/// its second byte broadcast (after the directory).
/// </summary>
internal sealed class FaultyCommunicator(ICommunicator inner, FaultPlan plan) : DelegatingCommunicator(inner)
{
    private int _gradientReduces;
    private int _byteBroadcasts;

    public override async ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default)
    {
        var gradient = typeof(T) == typeof(float) && op == ReduceOp.Average && data.Length > 1;
        var n = gradient ? ++_gradientReduces : 0;
        var pending = Inner.AllReduceAsync(data, op, cancellationToken);
        if (gradient && plan.Phase == "allreduce" && n == plan.Nth) plan.Fire($"gradient all-reduce {n} of generation {Generation}, {data.Length} floats, started");
        await pending.ConfigureAwait(false);
        if (gradient && plan.Phase == "vote" && n == plan.Nth) plan.Fire($"gradient all-reduce {n} of generation {Generation} returned with the vote, step not applied");
    }

    public override async ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default)
    {
        var payload = typeof(T) == typeof(byte) && ++_byteBroadcasts == 2;
        var pending = Inner.BroadcastAsync(data, root, cancellationToken);
        if (payload && plan.Phase == "transfer")
            plan.Fire($"state transfer of generation {Generation}: {data.Length} bytes from rank {root} to rank {Rank}, started");
        await pending.ConfigureAwait(false);
    }
}
