using System.Runtime.CompilerServices;
using Cluster.Collectives;

namespace Cluster.Collectives.TestWorker;

/// <summary>Deterministic per-(seed, rank, index) test values, so every rank can compute every other rank's input
/// and check its own result against a float64 reference without extra communication.</summary>
public static class TestValues
{
    public static ulong Mix(int seed, int rank, long index)
    {
        var x = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(rank + 1) * 0xC2B2AE3D27D4EB4FUL ^ (ulong)index * 0x165667B19E3779F9UL;
        x ^= x >> 33; x *= 0xFF51AFD7ED558CCDUL; x ^= x >> 33; x *= 0xC4CEB9FE1A85EC53UL; x ^= x >> 33;
        return x;
    }

    public static T Value<T>(int seed, int rank, long index) where T : unmanaged
    {
        var h = Mix(seed, rank, index);
        if (typeof(T) == typeof(int)) return Cast<int, T>((int)(h % 2001) - 1000);
        if (typeof(T) == typeof(long)) return Cast<long, T>((long)(h % 2_000_001) - 1_000_000 + (1L << 40));
        if (typeof(T) == typeof(float)) return Cast<float, T>((float)((h % 2_000_001) / 1_000_000.0 - 1.0));
        if (typeof(T) == typeof(double)) return Cast<double, T>((h % 2_000_000_001) / 1_000_000_000.0 - 1.0);
        if (typeof(T) == typeof(Half)) return Cast<Half, T>((Half)(((long)(h % 65) - 32) / 8.0));
        if (typeof(T) == typeof(BFloat16)) return Cast<BFloat16, T>((BFloat16)(float)(((long)(h % 17) - 8) / 4.0));
        if (typeof(T) == typeof(byte)) return Cast<byte, T>((byte)h);
        throw new NotSupportedException(typeof(T).Name);
    }

    public static double ToDouble<T>(T value) where T : unmanaged
    {
        if (typeof(T) == typeof(int)) return Cast<T, int>(value);
        if (typeof(T) == typeof(long)) return Cast<T, long>(value);
        if (typeof(T) == typeof(float)) return Cast<T, float>(value);
        if (typeof(T) == typeof(double)) return Cast<T, double>(value);
        if (typeof(T) == typeof(Half)) return (double)Cast<T, Half>(value);
        if (typeof(T) == typeof(BFloat16)) return (float)Cast<T, BFloat16>(value);
        if (typeof(T) == typeof(byte)) return Cast<T, byte>(value);
        throw new NotSupportedException(typeof(T).Name);
    }

    /// <summary>The float64 reference of reducing index <paramref name="index"/> over all ranks.</summary>
    public static double Reference<T>(int seed, int worldSize, long index, ReduceOp op) where T : unmanaged
    {
        var acc = ToDouble(Value<T>(seed, 0, index));
        long exact = typeof(T) == typeof(int) || typeof(T) == typeof(long) ? (long)acc : 0;
        for (var r = 1; r < worldSize; r++)
        {
            var v = ToDouble(Value<T>(seed, r, index));
            acc = op switch { ReduceOp.Min => Math.Min(acc, v), ReduceOp.Max => Math.Max(acc, v), _ => acc + v };
            exact = op switch { ReduceOp.Min => Math.Min(exact, (long)v), ReduceOp.Max => Math.Max(exact, (long)v), _ => exact + (long)v };
        }
        if (typeof(T) == typeof(int) || typeof(T) == typeof(long)) return op == ReduceOp.Average ? exact / worldSize : exact;
        return op == ReduceOp.Average ? acc / worldSize : acc;
    }

    /// <summary>Stated tolerances: integers and Min/Max exact; float 1e-5 absolute (|inputs| ≤ 1); double 1e-12;
    /// Half and BFloat16 inputs lie on a grid where sums are exact, so only Average rounds (one ulp at |x| ≤ 4).</summary>
    public static double Tolerance<T>(ReduceOp op, int worldSize) where T : unmanaged
    {
        if (op is ReduceOp.Min or ReduceOp.Max) return 0;
        if (typeof(T) == typeof(float)) return 1e-5 * Math.Max(1, worldSize / 4.0);
        if (typeof(T) == typeof(double)) return 1e-12;
        if (op != ReduceOp.Average) return 0;
        if (typeof(T) == typeof(Half)) return 4.0 / 1024;
        if (typeof(T) == typeof(BFloat16)) return 2.0 / 128;
        return 0;
    }

    private static TTo Cast<TFrom, TTo>(TFrom value) => Unsafe.As<TFrom, TTo>(ref value);
}
