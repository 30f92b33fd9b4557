using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Cluster.Collectives.Compression;

namespace Cluster.Collectives;

/// <summary>
/// Element-wise reduction kernels used by every algorithm, vectorised with Vector512 (AVX-512) or Vector256
/// (AVX2/NEON) and a scalar tail. float/double/int/long reduce natively; Half and BFloat16 widen to float32,
/// reduce, and round back to nearest even (bf16 exactly as <see cref="BFloat16.FromSingle"/>).
/// Integer sums wrap on overflow. Float min/max follow <see cref="MathF.Min(float, float)"/>/<see cref="MathF.Max(float, float)"/>
/// (IEEE 754-2019 minimum/maximum): −0 &lt; +0, and a NaN in either input gives NaN (NaN propagates; for Half a
/// NaN result is the canonical quiet NaN 0x7E00 with the sign kept).
/// dst may alias a or b exactly; partially overlapping spans are not supported.
/// </summary>
internal static class Reducer
{
    /// <summary>Element types the collectives accept.</summary>
    public static bool IsSupported<T>() where T : unmanaged =>
        typeof(T) == typeof(float) || typeof(T) == typeof(double) || typeof(T) == typeof(Half) ||
        typeof(T) == typeof(BFloat16) || typeof(T) == typeof(int) || typeof(T) == typeof(long);

    /// <summary>acc[i] = acc[i] op src[i]. <see cref="ReduceOp.Average"/> accumulates as a sum (divide once at the end).</summary>
    public static void Accumulate<T>(Span<T> acc, ReadOnlySpan<T> src, ReduceOp op) where T : unmanaged
        => Combine(acc, acc, src, op);

    /// <summary>dst[i] = a[i] op b[i]; dst may alias a or b.</summary>
    public static void Combine<T>(Span<T> dst, ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReduceOp op) where T : unmanaged
    {
        if (a.Length != b.Length || dst.Length != a.Length)
            throw new ArgumentException($"length mismatch: dst {dst.Length}, a {a.Length}, b {b.Length}");
        if (typeof(T) == typeof(float)) Dispatch(Cast<T, float>(dst), CastRo<T, float>(a), CastRo<T, float>(b), op);
        else if (typeof(T) == typeof(double)) Dispatch(Cast<T, double>(dst), CastRo<T, double>(a), CastRo<T, double>(b), op);
        else if (typeof(T) == typeof(int)) Dispatch(Cast<T, int>(dst), CastRo<T, int>(a), CastRo<T, int>(b), op);
        else if (typeof(T) == typeof(long)) Dispatch(Cast<T, long>(dst), CastRo<T, long>(a), CastRo<T, long>(b), op);
        else if (typeof(T) == typeof(Half) || typeof(T) == typeof(BFloat16))
            Float16Vectors.Combine(Cast<T, ushort>(dst), CastRo<T, ushort>(a), CastRo<T, ushort>(b), op, bf16: typeof(T) == typeof(BFloat16));
        else throw new NotSupportedException($"element type {typeof(T).Name} is not supported by collectives");
    }

    /// <summary>data[i] /= divisor (integers truncate toward zero; float32 multiplies by the float reciprocal;
    /// double divides; Half/BFloat16 divide in float32 and round back).</summary>
    public static void Divide<T>(Span<T> data, int divisor) where T : unmanaged
    {
        if (divisor == 0) throw new DivideByZeroException("divisor must not be zero");
        if (divisor == 1) return;
        if (typeof(T) == typeof(float)) Scale(Cast<T, float>(data), 1f / divisor);
        else if (typeof(T) == typeof(double)) DivideExact(Cast<T, double>(data), divisor);
        else if (typeof(T) == typeof(int)) { var s = Cast<T, int>(data); for (var i = 0; i < s.Length; i++) s[i] /= divisor; }
        else if (typeof(T) == typeof(long)) { var s = Cast<T, long>(data); for (var i = 0; i < s.Length; i++) s[i] /= divisor; }
        else if (typeof(T) == typeof(Half) || typeof(T) == typeof(BFloat16))
            Float16Vectors.Divide(Cast<T, ushort>(data), divisor, bf16: typeof(T) == typeof(BFloat16));
        else throw new NotSupportedException($"element type {typeof(T).Name} is not supported by collectives");
    }

    private static void Dispatch<TE>(Span<TE> d, ReadOnlySpan<TE> a, ReadOnlySpan<TE> b, ReduceOp op) where TE : unmanaged, INumber<TE>
    {
        switch (op)
        {
            case ReduceOp.Min: Run<TE, MinOp>(d, a, b); break;
            case ReduceOp.Max: Run<TE, MaxOp>(d, a, b); break;
            case ReduceOp.Sum or ReduceOp.Average: Run<TE, AddOp>(d, a, b); break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduce op");
        }
    }

    private static void Run<TE, TOp>(Span<TE> dst, ReadOnlySpan<TE> a, ReadOnlySpan<TE> b)
        where TE : unmanaged, INumber<TE> where TOp : struct, IBinaryOp
    {
        ref var rd = ref MemoryMarshal.GetReference(dst);
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = (nuint)dst.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<TE>.Count)
        {
            var w = (nuint)Vector512<TE>.Count;
            for (; i + 4 * w <= n; i += 4 * w)
            {
                var r0 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i));
                var r1 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i + w), Vector512.LoadUnsafe(ref rb, i + w));
                var r2 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i + 2 * w), Vector512.LoadUnsafe(ref rb, i + 2 * w));
                var r3 = TOp.Apply(Vector512.LoadUnsafe(ref ra, i + 3 * w), Vector512.LoadUnsafe(ref rb, i + 3 * w));
                r0.StoreUnsafe(ref rd, i);
                r1.StoreUnsafe(ref rd, i + w);
                r2.StoreUnsafe(ref rd, i + 2 * w);
                r3.StoreUnsafe(ref rd, i + 3 * w);
            }
            for (; i + w <= n; i += w)
                TOp.Apply(Vector512.LoadUnsafe(ref ra, i), Vector512.LoadUnsafe(ref rb, i)).StoreUnsafe(ref rd, i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var w = (nuint)Vector256<TE>.Count;
            for (; i + 2 * w <= n; i += 2 * w)
            {
                var r0 = TOp.Apply(Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i));
                var r1 = TOp.Apply(Vector256.LoadUnsafe(ref ra, i + w), Vector256.LoadUnsafe(ref rb, i + w));
                r0.StoreUnsafe(ref rd, i);
                r1.StoreUnsafe(ref rd, i + w);
            }
            for (; i + w <= n; i += w)
                TOp.Apply(Vector256.LoadUnsafe(ref ra, i), Vector256.LoadUnsafe(ref rb, i)).StoreUnsafe(ref rd, i);
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
    }

    private static void Scale(Span<float> data, float factor)
    {
        ref var r = ref MemoryMarshal.GetReference(data);
        var n = (nuint)data.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var f = Vector256.Create(factor);
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
                (Vector256.LoadUnsafe(ref r, i) * f).StoreUnsafe(ref r, i);
        }
        for (; i < n; i++) Unsafe.Add(ref r, i) *= factor;
    }

    private static void DivideExact(Span<double> data, double divisor)
    {
        ref var r = ref MemoryMarshal.GetReference(data);
        var n = (nuint)data.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            for (; i + (nuint)Vector256<double>.Count <= n; i += (nuint)Vector256<double>.Count)
                (Vector256.LoadUnsafe(ref r, i) / d).StoreUnsafe(ref r, i);
        }
        for (; i < n; i++) Unsafe.Add(ref r, i) /= divisor;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Span<TTo> Cast<TFrom, TTo>(Span<TFrom> s) where TFrom : unmanaged where TTo : unmanaged => MemoryMarshal.Cast<TFrom, TTo>(s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<TTo> CastRo<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged => MemoryMarshal.Cast<TFrom, TTo>(s);

    private interface IBinaryOp
    {
        static abstract Vector512<TE> Apply<TE>(Vector512<TE> x, Vector512<TE> y) where TE : INumber<TE>;
        static abstract Vector256<TE> Apply<TE>(Vector256<TE> x, Vector256<TE> y) where TE : INumber<TE>;
        static abstract TE Apply<TE>(TE x, TE y) where TE : INumber<TE>;
    }

    private readonly struct AddOp : IBinaryOp
    {
        public static Vector512<TE> Apply<TE>(Vector512<TE> x, Vector512<TE> y) where TE : INumber<TE> => x + y;
        public static Vector256<TE> Apply<TE>(Vector256<TE> x, Vector256<TE> y) where TE : INumber<TE> => x + y;
        public static TE Apply<TE>(TE x, TE y) where TE : INumber<TE> => x + y;
    }

    private readonly struct MinOp : IBinaryOp
    {
        public static Vector512<TE> Apply<TE>(Vector512<TE> x, Vector512<TE> y) where TE : INumber<TE> => Vector512.Min(x, y);
        public static Vector256<TE> Apply<TE>(Vector256<TE> x, Vector256<TE> y) where TE : INumber<TE> => Vector256.Min(x, y);
        public static TE Apply<TE>(TE x, TE y) where TE : INumber<TE> => TE.Min(x, y);
    }

    private readonly struct MaxOp : IBinaryOp
    {
        public static Vector512<TE> Apply<TE>(Vector512<TE> x, Vector512<TE> y) where TE : INumber<TE> => Vector512.Max(x, y);
        public static Vector256<TE> Apply<TE>(Vector256<TE> x, Vector256<TE> y) where TE : INumber<TE> => Vector256.Max(x, y);
        public static TE Apply<TE>(TE x, TE y) where TE : INumber<TE> => TE.Max(x, y);
    }
}
