using Cluster.Collectives;

namespace Cluster.Collectives.TestWorker;

/// <summary>Property checks every rank runs against its own communicator; each throws <see cref="InvalidDataException"/>
/// naming the case on the first wrong element.</summary>
public static class Scenarios
{
    private static readonly ReduceOp[] Ops = [ReduceOp.Sum, ReduceOp.Average, ReduceOp.Min, ReduceOp.Max];

    /// <summary>0, 1, small primes, sizes not divisible by the world size, sizes around the small-message limit, plus seeded random ones.</summary>
    public static int[] Sizes(int seed, bool quick)
    {
        var rng = new Random(seed);
        int[] fixedSizes = quick ? [0, 1, 2, 7, 1021, 16411] : [0, 1, 2, 3, 5, 7, 13, 97, 1021, 4099, 16411, 65537];
        return [.. fixedSizes, rng.Next(1, 50_000), rng.Next(50_000, quick ? 100_000 : 300_000)];
    }

    public static async Task RunSuiteAsync(ICommunicator c, int seed, bool quick, CancellationToken ct)
    {
        var sizes = Sizes(seed, quick);
        foreach (var count in sizes)
        {
            foreach (var op in Ops)
            {
                await AllReduceAsync<float>(c, seed, count, op, ct);
                await AllReduceAsync<int>(c, seed, count, op, ct);
                if (count <= 20_000 || !quick)
                {
                    await AllReduceAsync<double>(c, seed, count, op, ct);
                    await AllReduceAsync<long>(c, seed, count, op, ct);
                    await AllReduceAsync<Half>(c, seed, count, op, ct);
                    await AllReduceAsync<BFloat16>(c, seed, count, op, ct);
                }
            }
        }
        foreach (var count in sizes.Take(quick ? 5 : 9))
        {
            foreach (var op in Ops)
            {
                await ReduceScatterAsync<float>(c, seed, count, op, ct);
                await ReduceScatterAsync<long>(c, seed, count, op, ct);
            }
            await ReduceScatterAsync<Half>(c, seed, count, ReduceOp.Sum, ct);
            await ReduceScatterAsync<BFloat16>(c, seed, count, ReduceOp.Average, ct);
            await ReduceScatterAsync<double>(c, seed, count, ReduceOp.Sum, ct);
            await ReduceScatterAsync<int>(c, seed, count, ReduceOp.Max, ct);
            await AllGatherAsync<byte>(c, seed, count, ct);
            await AllGatherAsync<double>(c, seed, count, ct);
            await AllGatherAsync<Half>(c, seed, count, ct);
            for (var root = 0; root < c.WorldSize; root++) await BroadcastAsync<float>(c, seed + root, count, root, ct);
            await BroadcastAsync<byte>(c, seed, count, c.WorldSize - 1, ct);
            await BroadcastAsync<long>(c, seed, count, 0, ct);
            await c.BarrierAsync(ct);
        }
        await PointToPointAsync(c, seed, quick ? 3000 : 100_000, ct);
        for (var i = 0; i < 5; i++) await c.BarrierAsync(ct);
    }

    public static async Task AllReduceAsync<T>(ICommunicator c, int seed, int count, ReduceOp op, CancellationToken ct) where T : unmanaged
    {
        var data = new T[count];
        for (var i = 0; i < count; i++) data[i] = TestValues.Value<T>(seed, c.Rank, i);
        await c.AllReduceAsync<T>(data, op, ct);
        var tol = TestValues.Tolerance<T>(op, c.WorldSize);
        for (var i = 0; i < count; i++)
        {
            var expected = TestValues.Reference<T>(seed, c.WorldSize, i, op);
            var actual = TestValues.ToDouble(data[i]);
            if (!(Math.Abs(actual - expected) <= tol))
                throw new InvalidDataException($"AllReduce<{typeof(T).Name}> {op} count={count} world={c.WorldSize} rank={c.Rank}: [{i}] = {actual}, expected {expected} ± {tol}");
        }
    }

    public static async Task ReduceScatterAsync<T>(ICommunicator c, int seed, int count, ReduceOp op, CancellationToken ct) where T : unmanaged
    {
        var n = c.WorldSize;
        var input = new T[count * n];
        for (var i = 0; i < input.Length; i++) input[i] = TestValues.Value<T>(seed, c.Rank, i);
        var output = new T[count];
        await c.ReduceScatterAsync<T>(input, output, op, ct);
        var tol = TestValues.Tolerance<T>(op, n);
        for (var j = 0; j < count; j++)
        {
            var expected = TestValues.Reference<T>(seed, n, (long)c.Rank * count + j, op);
            var actual = TestValues.ToDouble(output[j]);
            if (!(Math.Abs(actual - expected) <= tol))
                throw new InvalidDataException($"ReduceScatter<{typeof(T).Name}> {op} count={count} world={n} rank={c.Rank}: [{j}] = {actual}, expected {expected} ± {tol}");
        }
    }

    public static async Task AllGatherAsync<T>(ICommunicator c, int seed, int count, CancellationToken ct) where T : unmanaged
    {
        var input = new T[count];
        for (var i = 0; i < count; i++) input[i] = TestValues.Value<T>(seed, c.Rank, i);
        var output = new T[count * c.WorldSize];
        await c.AllGatherAsync<T>(input, output, ct);
        for (var r = 0; r < c.WorldSize; r++)
            for (var i = 0; i < count; i++)
                if (!output[r * count + i].Equals(TestValues.Value<T>(seed, r, i)))
                    throw new InvalidDataException($"AllGather<{typeof(T).Name}> count={count} rank={c.Rank}: block {r} element {i} differs");
    }

    public static async Task BroadcastAsync<T>(ICommunicator c, int seed, int count, int root, CancellationToken ct) where T : unmanaged
    {
        var data = new T[count];
        for (var i = 0; i < count; i++) data[i] = TestValues.Value<T>(c.Rank == root ? seed : seed + 1000, c.Rank, i);
        await c.BroadcastAsync<T>(data, root, ct);
        for (var i = 0; i < count; i++)
            if (!data[i].Equals(TestValues.Value<T>(seed, root, i)))
                throw new InvalidDataException($"Broadcast<{typeof(T).Name}> count={count} root={root} rank={c.Rank}: element {i} differs");
    }

    /// <summary>Every pair (a &lt; b), in one global order: a sends two messages then receives one; b mirrors it.
    /// A global order of pairwise exchanges cannot deadlock even when messages exceed the socket buffers.</summary>
    public static async Task PointToPointAsync(ICommunicator c, int seed, int count, CancellationToken ct)
    {
        for (var a = 0; a < c.WorldSize; a++)
        {
            for (var b = a + 1; b < c.WorldSize; b++)
            {
                if (c.Rank != a && c.Rank != b) continue;
                var peer = c.Rank == a ? b : a;
                var small = new int[7];
                var big = new float[count];
                var reply = new long[count / 3];
                if (c.Rank == a)
                {
                    for (var i = 0; i < small.Length; i++) small[i] = TestValues.Value<int>(seed, a, i);
                    for (var i = 0; i < big.Length; i++) big[i] = TestValues.Value<float>(seed, a, i);
                    await c.SendAsync<int>(small, b, ct);
                    await c.SendAsync<float>(big, b, ct);
                    await c.SendAsync<byte>(Array.Empty<byte>(), b, ct);
                    await c.RecvAsync<long>(reply, b, ct);
                    for (var i = 0; i < reply.Length; i++)
                        if (reply[i] != TestValues.Value<long>(seed, b, i)) throw new InvalidDataException($"Recv {b}->{a} element {i} differs");
                }
                else
                {
                    await c.RecvAsync<int>(small, a, ct);
                    await c.RecvAsync<float>(big, a, ct);
                    await c.RecvAsync<byte>(Array.Empty<byte>(), a, ct);
                    for (var i = 0; i < small.Length; i++)
                        if (small[i] != TestValues.Value<int>(seed, a, i)) throw new InvalidDataException($"Recv {a}->{b} small element {i} differs");
                    for (var i = 0; i < big.Length; i++)
                        if (big[i] != TestValues.Value<float>(seed, a, i)) throw new InvalidDataException($"Recv {a}->{b} big element {i} differs");
                    for (var i = 0; i < reply.Length; i++) reply[i] = TestValues.Value<long>(seed, b, i);
                    await c.SendAsync<long>(reply, a, ct);
                }
            }
        }
    }
}
