using System.Runtime.InteropServices;
using Cluster.Collectives;

namespace Cluster.Training.Tests.Fakes;

/// <summary>Test-only <see cref="ICommunicator"/> for ranks running as threads of one process. Reductions add the
/// ranks' contributions in rank order (deterministic).</summary>
internal sealed class ThreadCommunicator(ThreadGroup group, int rank) : ICommunicator
{
    private long sequence;

    public string JobId => "threads";
    public long Generation => 0;
    public int Rank { get; } = rank;
    public int WorldSize => group.WorldSize;
    public int AllReduceCalls { get; private set; }

    public async ValueTask AllReduceAsync<T>(Memory<T> data, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged
    {
        AllReduceCalls++;
        var all = await group.ExchangeAsync(sequence++, Rank, data.ToArray(), cancellationToken);
        if (typeof(T) == typeof(float)) Reduce(all, MemoryMarshal.Cast<T, float>(data.Span), op, (a, b) => a + b, (a, n) => a / n);
        else if (typeof(T) == typeof(double)) Reduce(all, MemoryMarshal.Cast<T, double>(data.Span), op, (a, b) => a + b, (a, n) => a / n);
        else if (typeof(T) == typeof(long)) Reduce(all, MemoryMarshal.Cast<T, long>(data.Span), op, (a, b) => a + b, (a, n) => a / n);
        else throw new NotSupportedException(typeof(T).Name);
    }

    public async ValueTask BroadcastAsync<T>(Memory<T> data, int root, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var all = await group.ExchangeAsync(sequence++, Rank, data.ToArray(), cancellationToken);
        ((T[])all[root]).CopyTo(data);
    }

    public async ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, CancellationToken cancellationToken = default) where T : unmanaged
    {
        var all = await group.ExchangeAsync(sequence++, Rank, input.ToArray(), cancellationToken);
        for (var r = 0; r < all.Length; r++) ((T[])all[r]).CopyTo(output.Slice(r * input.Length));
    }

    public ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> input, Memory<T> output, ReduceOp op, CancellationToken cancellationToken = default) where T : unmanaged =>
        throw new NotSupportedException();

    public async ValueTask BarrierAsync(CancellationToken cancellationToken = default) =>
        await group.ExchangeAsync(sequence++, Rank, Array.Empty<byte>(), cancellationToken);

    public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default) where T : unmanaged => throw new NotSupportedException();

    public ValueTask RecvAsync<T>(Memory<T> data, int source, CancellationToken cancellationToken = default) where T : unmanaged => throw new NotSupportedException();

    public void Abort(string reason) { }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static void Reduce<TN>(object[] all, Span<TN> target, ReduceOp op, Func<TN, TN, TN> add, Func<TN, int, TN> divide)
    {
        if (op is not (ReduceOp.Sum or ReduceOp.Average)) throw new NotSupportedException(op.ToString());
        for (var i = 0; i < target.Length; i++)
        {
            var acc = ((TN[])all[0])[i];
            for (var r = 1; r < all.Length; r++) acc = add(acc, ((TN[])all[r])[i]);
            target[i] = op == ReduceOp.Average ? divide(acc, all.Length) : acc;
        }
    }
}
