using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cluster.Collectives.Compression;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Collectives.Tests;

public sealed class KernelReducerTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Lengths() =>
        Enumerable.Range(0, 68).Concat([127, 128, 129, 1000, 4099, 100_003]).Select(n => new object[] { n });

    private static readonly ReduceOp[] Ops = [ReduceOp.Sum, ReduceOp.Average, ReduceOp.Min, ReduceOp.Max];

    private static float RandomFloat(Random r) => r.Next(40) switch
    {
        0 => float.NaN,
        1 => float.PositiveInfinity,
        2 => float.NegativeInfinity,
        3 => 0f,
        4 => -0f,
        5 => BitConverter.UInt32BitsToSingle((uint)r.Next(1, 0x7FFFFF)) * (r.Next(2) == 0 ? 1 : -1), // subnormal
        6 => (float)(r.NextDouble() - 0.5) * 1e-6f,
        _ => (float)(r.NextDouble() - 0.5) * 2000f,
    };

    private static bool SameFloat(float x, float y) => (float.IsNaN(x) && float.IsNaN(y)) || BitConverter.SingleToUInt32Bits(x) == BitConverter.SingleToUInt32Bits(y);

    private static float ScalarF(float x, float y, ReduceOp op) => op switch { ReduceOp.Min => MathF.Min(x, y), ReduceOp.Max => MathF.Max(x, y), _ => x + y };

    private void Check<T>(int n, Func<Random, T> gen, Func<T, T, ReduceOp, T> reference, Func<T, T, bool> same) where T : unmanaged
    {
        var rng = new Random(n * 31 + typeof(T).Name.Length);
        foreach (var op in Ops)
        {
            var a = new T[n]; var b = new T[n];
            for (var i = 0; i < n; i++) { a[i] = gen(rng); b[i] = gen(rng); }
            var expected = new T[n];
            for (var i = 0; i < n; i++) expected[i] = reference(a[i], b[i], op);
            var dst = new T[n];
            Reducer.Combine<T>(dst, a, b, op);
            var acc = (T[])a.Clone();
            Reducer.Accumulate<T>(acc, b, op);
            for (var i = 0; i < n; i++)
            {
                if (!same(expected[i], dst[i])) Assert.Fail($"{typeof(T).Name} {op} n={n} i={i}: {a[i]} op {b[i]} expected {expected[i]} got {dst[i]}");
                if (!same(expected[i], acc[i])) Assert.Fail($"{typeof(T).Name} {op} accumulate n={n} i={i}: expected {expected[i]} got {acc[i]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void AllTypesMatchTheScalarReference(int n)
    {
        Check(n, RandomFloat, ScalarF, SameFloat);
        Check(n, r => (double)RandomFloat(r) * 1.000001,
            (x, y, op) => op switch { ReduceOp.Min => Math.Min(x, y), ReduceOp.Max => Math.Max(x, y), _ => x + y },
            (x, y) => (double.IsNaN(x) && double.IsNaN(y)) || BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y));
        Check(n, r => r.Next(8) == 0 ? int.MaxValue - r.Next(3) : r.Next(int.MinValue, int.MaxValue),
            (x, y, op) => op switch { ReduceOp.Min => Math.Min(x, y), ReduceOp.Max => Math.Max(x, y), _ => unchecked(x + y) }, (x, y) => x == y);
        Check(n, r => r.NextInt64(long.MinValue, long.MaxValue),
            (x, y, op) => op switch { ReduceOp.Min => Math.Min(x, y), ReduceOp.Max => Math.Max(x, y), _ => unchecked(x + y) }, (x, y) => x == y);
        Check(n, r => (Half)RandomFloat(r), (x, y, op) => (Half)ScalarF((float)x, (float)y, op),
            (x, y) => (Half.IsNaN(x) && Half.IsNaN(y)) || BitConverter.HalfToUInt16Bits(x) == BitConverter.HalfToUInt16Bits(y));
        Check(n, r => new BFloat16(RandomFloat(r)), (x, y, op) => new BFloat16(ScalarF((float)x, (float)y, op)),
            (x, y) => (float.IsNaN((float)x) && float.IsNaN((float)y)) || x.Bits == y.Bits);
    }

    [Fact]
    public void FloatMinMaxFollowMathFIncludingSignedZeroAndNaN()
    {
        var a = new float[] { -0f, 0f, float.NaN, 1f, float.NaN, 3f, -2f, 5f, 0f, -0f, 7f, 8f, 9f, 10f, 11f, float.NegativeInfinity, 1, 2 };
        var b = new float[] { 0f, -0f, 1f, float.NaN, float.NaN, 2f, -3f, 6f, 0f, -0f, 7f, -8f, 9f, 10f, 12f, 0f, 1, 2 };
        foreach (var op in new[] { ReduceOp.Min, ReduceOp.Max })
        {
            var d = new float[a.Length];
            Reducer.Combine<float>(d, a, b, op);
            for (var i = 0; i < a.Length; i++) Assert.True(SameFloat(ScalarF(a[i], b[i], op), d[i]), $"{op} {a[i]},{b[i]} -> {d[i]}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(67)]
    [InlineData(10_001)]
    public void DivideMatchesTheScalarReference(int n)
    {
        var rng = new Random(n);
        var f = Enumerable.Range(0, n).Select(_ => RandomFloat(rng)).ToArray();
        var ef = f.Select(x => x * (1f / 3)).ToArray();
        Reducer.Divide<float>(f, 3);
        for (var i = 0; i < n; i++) Assert.True(SameFloat(ef[i], f[i]));
        var d = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 100 - 50).ToArray();
        var ed = d.Select(x => x / 3).ToArray();
        Reducer.Divide<double>(d, 3);
        Assert.Equal(ed, d);
        var l = Enumerable.Range(0, n).Select(_ => rng.NextInt64(-1000, 1000)).ToArray();
        var el = l.Select(x => x / 3).ToArray();
        Reducer.Divide<long>(l, 3);
        Assert.Equal(el, l);
        var h = Enumerable.Range(0, n).Select(_ => (Half)RandomFloat(rng)).ToArray();
        var eh = h.Select(x => (Half)((float)x / 3)).ToArray();
        Reducer.Divide<Half>(h, 3);
        for (var i = 0; i < n; i++) Assert.True(Half.IsNaN(eh[i]) ? Half.IsNaN(h[i]) : eh[i].Equals(h[i]) && BitConverter.HalfToUInt16Bits(eh[i]) == BitConverter.HalfToUInt16Bits(h[i]));
        var bf = Enumerable.Range(0, n).Select(_ => new BFloat16(RandomFloat(rng))).ToArray();
        var ebf = bf.Select(x => new BFloat16((float)x / 3)).ToArray();
        Reducer.Divide<BFloat16>(bf, 3);
        Assert.Equal(ebf, bf);
        Assert.Throws<DivideByZeroException>(() => Reducer.Divide<int>(new int[1], 0));
    }

    [Fact]
    public void VectorHalfConversionsAreExactForEveryHalfAndManyFloats()
    {
        var all = new ushort[65536];
        for (var i = 0; i < all.Length; i++) all[i] = (ushort)i;
        var widened = new float[all.Length];
        for (var i = 0; i < all.Length; i += 8)
        {
            var v = System.Runtime.Intrinsics.Vector256.Create(all.AsSpan(i, 8).ToArray().Select(x => (uint)x).ToArray());
            Float16Vectors.HalfToSingle(v).CopyTo(widened.AsSpan(i, 8));
        }
        for (var i = 0; i < all.Length; i++)
        {
            var expected = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            if (!SameFloat(expected, widened[i])) Assert.Fail($"half 0x{i:X4}: expected {expected} got {widened[i]}");
        }

        var rng = new Random(11);
        var floats = widened.Concat(Enumerable.Range(0, 200_000).Select(_ => rng.Next(3) == 0
            ? BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32))
            : BitConverter.UInt32BitsToSingle((uint)rng.Next(0x3000_0000, 0x4800_0000) | (uint)(rng.Next(2) << 31))))
            .Concat([65504f, 65519.99f, 65520f, 1e-8f, 2.98e-8f, 2.9802322e-8f, 5.96e-8f, 6.1e-5f]).ToArray();
        Array.Resize(ref floats, floats.Length / 8 * 8);
        for (var i = 0; i < floats.Length; i += 8)
        {
            var narrowed = Float16Vectors.SingleToHalf(System.Runtime.Intrinsics.Vector256.Create(floats.AsSpan(i, 8)));
            for (var j = 0; j < 8; j++)
            {
                var f = floats[i + j];
                var expected = BitConverter.HalfToUInt16Bits((Half)f);
                var got = (ushort)narrowed[j];
                if (float.IsNaN(f)) Assert.True(Half.IsNaN(BitConverter.UInt16BitsToHalf(got)));
                else if (expected != got) Assert.Fail($"float {f} (0x{BitConverter.SingleToUInt32Bits(f):X8}): expected 0x{expected:X4} got 0x{got:X4}");
                var bf = (ushort)Float16Vectors.SingleToBf16(System.Runtime.Intrinsics.Vector256.Create(f))[0];
                Assert.Equal(BFloat16.FromSingle(f), bf);
            }
        }
    }

    [Fact]
    public void Float32Combine4MiBRunsNearMemoryBandwidth()
    {
        const int n = 1 << 20; // 4 MiB of float32
        var a = new float[n]; var b = new float[n]; var d = new float[n];
        new Random(1).NextBytes(MemoryMarshal.AsBytes(a.AsSpan()));
        Array.Fill(b, 1f);
        Array.Fill(a, 2f);
        var best = double.MaxValue;
        for (var r = 0; r < 30; r++)
        {
            var t0 = Stopwatch.GetTimestamp();
            Reducer.Combine<float>(d, a, b, ReduceOp.Sum);
            if (r > 2) best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        Assert.All(d, x => Assert.Equal(3f, x));
        var perInput = (4 << 20) / best / 1e9;
        output.WriteLine($"float32 Combine 4 MiB: {best * 1e6:0} µs = {perInput:0.0} GB/s of one input, {3 * perInput:0.0} GB/s memory traffic (2 reads + 1 write)");
        Assert.True(perInput > 0.2, $"{perInput} GB/s");
    }
}
