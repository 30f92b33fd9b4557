using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Cluster.Collectives;

namespace Cluster.Cli.Commands.Bench;

/// <summary>Deterministic inputs whose reduced result is known exactly for every dtype: rank r holds small
/// integers v(i, r) in [-8, 8], so sums, minima and maxima are exact in float16/bfloat16 too.</summary>
internal static class BenchPayload
{
    public static int Value(long index, int rank) => (int)((index * 7 + rank * 13) % 17) - 8;

    public static void Fill<T>(Span<T> data, int rank) where T : unmanaged
    {
        for (var i = 0; i < data.Length; i++) data[i] = FromInt<T>(Value(i, rank));
    }

    /// <summary>Number of elements that differ from the reference result (Average: within float tolerance).</summary>
    public static long CountErrors<T>(ReadOnlySpan<T> data, int worldSize, ReduceOp op) where T : unmanaged
    {
        long errors = 0;
        var integral = typeof(T) == typeof(int) || typeof(T) == typeof(long);
        for (var i = 0; i < data.Length; i++)
        {
            var expected = Reference(i, worldSize, op, integral);
            var actual = ToDouble(data[i]);
            var tolerance = op == ReduceOp.Average && !integral ? Tolerance<T>() * Math.Max(1, Math.Abs(expected)) : 0;
            if (Math.Abs(actual - expected) > tolerance) errors++;
        }
        return errors;
    }

    private static double Reference(long index, int worldSize, ReduceOp op, bool integral)
    {
        long sum = 0; var min = int.MaxValue; var max = int.MinValue;
        for (var r = 0; r < worldSize; r++)
        {
            var v = Value(index, r);
            sum += v; min = Math.Min(min, v); max = Math.Max(max, v);
        }
        return op switch
        {
            ReduceOp.Sum => sum,
            ReduceOp.Min => min,
            ReduceOp.Max => max,
            _ => integral ? sum / worldSize : (double)sum / worldSize,
        };
    }

    private static double Tolerance<T>() =>
        typeof(T) == typeof(Half) ? 1e-3 : typeof(T) == typeof(BFloat16) ? 8e-3 : typeof(T) == typeof(float) ? 1e-6 : 1e-12;

    private static T FromInt<T>(int v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { var x = (float)v; return MemoryMarshal.Cast<float, T>(MemoryMarshal.CreateSpan(ref x, 1))[0]; }
        if (typeof(T) == typeof(double)) { var x = (double)v; return MemoryMarshal.Cast<double, T>(MemoryMarshal.CreateSpan(ref x, 1))[0]; }
        if (typeof(T) == typeof(Half)) { var x = (Half)v; return MemoryMarshal.Cast<Half, T>(MemoryMarshal.CreateSpan(ref x, 1))[0]; }
        if (typeof(T) == typeof(BFloat16)) { var x = new BFloat16(v); return MemoryMarshal.Cast<BFloat16, T>(MemoryMarshal.CreateSpan(ref x, 1))[0]; }
        if (typeof(T) == typeof(int)) { var x = v; return MemoryMarshal.Cast<int, T>(MemoryMarshal.CreateSpan(ref x, 1))[0]; }
        if (typeof(T) == typeof(long)) { var x = (long)v; return MemoryMarshal.Cast<long, T>(MemoryMarshal.CreateSpan(ref x, 1))[0]; }
        throw new NotSupportedException(typeof(T).Name);
    }

    /// <summary>The exact result of Sum, Min and Max (small integers: exact in every dtype), or null for Average,
    /// whose float results are compared within a tolerance by <see cref="CountErrors{T}"/>.</summary>
    public static T[]? ExactExpected<T>(int count, int worldSize, ReduceOp op) where T : unmanaged
    {
        if (op == ReduceOp.Average) return null;
        var expected = new T[count];
        for (var i = 0; i < count; i++) expected[i] = FromInt<T>((int)Reference(i, worldSize, op, integral: true));
        return expected;
    }

    /// <summary>Bitwise comparison against <see cref="ExactExpected{T}"/> (vectorised: cheap enough to run after
    /// every timed iteration without skewing the ranks); elements that differ are then counted one by one.</summary>
    public static long CountErrors<T>(ReadOnlySpan<T> data, ReadOnlySpan<T> expected) where T : unmanaged
    {
        if (MemoryMarshal.AsBytes(data).SequenceEqual(MemoryMarshal.AsBytes(expected))) return 0;
        long errors = 0;
        var size = Unsafe.SizeOf<T>();
        var a = MemoryMarshal.AsBytes(data);
        var b = MemoryMarshal.AsBytes(expected);
        for (var i = 0; i < data.Length; i++)
            if (!a.Slice(i * size, size).SequenceEqual(b.Slice(i * size, size))) errors++;
        return errors;
    }

    private static double ToDouble<T>(T value) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<T, float>(ref value);
        if (typeof(T) == typeof(double)) return Unsafe.As<T, double>(ref value);
        if (typeof(T) == typeof(Half)) return (double)Unsafe.As<T, Half>(ref value);
        if (typeof(T) == typeof(BFloat16)) return (float)Unsafe.As<T, BFloat16>(ref value);
        if (typeof(T) == typeof(int)) return Unsafe.As<T, int>(ref value);
        if (typeof(T) == typeof(long)) return Unsafe.As<T, long>(ref value);
        throw new NotSupportedException(typeof(T).Name);
    }
}
