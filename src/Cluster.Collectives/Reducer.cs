using System.Runtime.InteropServices;

namespace Cluster.Collectives;

/// <summary>Element-wise reduction kernels used by every algorithm. (Baseline scalar version: the SIMD
/// kernels replace the bodies without changing these signatures.)</summary>
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
        if (a.Length != b.Length || dst.Length != a.Length) throw new ArgumentException("length mismatch");
        if (typeof(T) == typeof(float)) Combine(MemoryMarshal.Cast<T, float>(dst), MemoryMarshal.Cast<T, float>(a), MemoryMarshal.Cast<T, float>(b), op, static (x, y) => x + y, MathF.Min, MathF.Max);
        else if (typeof(T) == typeof(double)) Combine(MemoryMarshal.Cast<T, double>(dst), MemoryMarshal.Cast<T, double>(a), MemoryMarshal.Cast<T, double>(b), op, static (x, y) => x + y, Math.Min, Math.Max);
        else if (typeof(T) == typeof(int)) Combine(MemoryMarshal.Cast<T, int>(dst), MemoryMarshal.Cast<T, int>(a), MemoryMarshal.Cast<T, int>(b), op, static (x, y) => unchecked(x + y), Math.Min, Math.Max);
        else if (typeof(T) == typeof(long)) Combine(MemoryMarshal.Cast<T, long>(dst), MemoryMarshal.Cast<T, long>(a), MemoryMarshal.Cast<T, long>(b), op, static (x, y) => unchecked(x + y), Math.Min, Math.Max);
        else if (typeof(T) == typeof(Half))
        {
            var d = MemoryMarshal.Cast<T, Half>(dst); var x = MemoryMarshal.Cast<T, Half>(a); var y = MemoryMarshal.Cast<T, Half>(b);
            for (var i = 0; i < d.Length; i++) d[i] = (Half)Apply((float)x[i], (float)y[i], op);
        }
        else if (typeof(T) == typeof(BFloat16))
        {
            var d = MemoryMarshal.Cast<T, ushort>(dst); var x = MemoryMarshal.Cast<T, ushort>(a); var y = MemoryMarshal.Cast<T, ushort>(b);
            for (var i = 0; i < d.Length; i++) d[i] = BFloat16.FromSingle(Apply(BFloat16.ToSingle(x[i]), BFloat16.ToSingle(y[i]), op));
        }
        else throw new NotSupportedException($"element type {typeof(T).Name} is not supported by collectives");
    }

    /// <summary>data[i] /= divisor (integers truncate toward zero).</summary>
    public static void Divide<T>(Span<T> data, int divisor) where T : unmanaged
    {
        if (divisor == 1) return;
        if (typeof(T) == typeof(float)) { var s = MemoryMarshal.Cast<T, float>(data); var inv = 1f / divisor; for (var i = 0; i < s.Length; i++) s[i] *= inv; }
        else if (typeof(T) == typeof(double)) { var s = MemoryMarshal.Cast<T, double>(data); for (var i = 0; i < s.Length; i++) s[i] /= divisor; }
        else if (typeof(T) == typeof(int)) { var s = MemoryMarshal.Cast<T, int>(data); for (var i = 0; i < s.Length; i++) s[i] /= divisor; }
        else if (typeof(T) == typeof(long)) { var s = MemoryMarshal.Cast<T, long>(data); for (var i = 0; i < s.Length; i++) s[i] /= divisor; }
        else if (typeof(T) == typeof(Half)) { var s = MemoryMarshal.Cast<T, Half>(data); for (var i = 0; i < s.Length; i++) s[i] = (Half)((float)s[i] / divisor); }
        else if (typeof(T) == typeof(BFloat16)) { var s = MemoryMarshal.Cast<T, ushort>(data); for (var i = 0; i < s.Length; i++) s[i] = BFloat16.FromSingle(BFloat16.ToSingle(s[i]) / divisor); }
        else throw new NotSupportedException($"element type {typeof(T).Name} is not supported by collectives");
    }

    private static float Apply(float x, float y, ReduceOp op) => op switch
    {
        ReduceOp.Min => MathF.Min(x, y),
        ReduceOp.Max => MathF.Max(x, y),
        _ => x + y,
    };

    private static void Combine<TE>(Span<TE> d, ReadOnlySpan<TE> x, ReadOnlySpan<TE> y, ReduceOp op, Func<TE, TE, TE> add, Func<TE, TE, TE> min, Func<TE, TE, TE> max)
    {
        var f = op switch { ReduceOp.Min => min, ReduceOp.Max => max, _ => add };
        for (var i = 0; i < d.Length; i++) d[i] = f(x[i], y[i]);
    }
}
