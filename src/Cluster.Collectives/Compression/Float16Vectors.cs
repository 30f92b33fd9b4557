using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cluster.Collectives.Compression;

/// <summary>Branch-free 16-bit float ↔ float32 conversions on 8 lanes (uint lanes hold the 16-bit patterns),
/// plus span loops built on them. Written with the portable Vector256 API (AVX2 on x64, two NEON halves on arm64).
/// bfloat16 narrowing matches <see cref="BFloat16.FromSingle"/> bit for bit; Half narrowing rounds to nearest
/// even like <c>(Half)float</c> for every non-NaN input (a NaN becomes the quiet NaN 0x7E00 | sign).</summary>
internal static class Float16Vectors
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Bf16ToSingle(Vector256<uint> h) => (h << 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> SingleToBf16(Vector256<float> f)
    {
        var bits = f.AsUInt32();
        var isNaN = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var quiet = (bits >> 16) | Vector256.Create(0x0040u);
        return Vector256.ConditionalSelect(isNaN, quiet, rounded);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfToSingle(Vector256<uint> h)
    {
        var sign = (h & Vector256.Create(0x8000u)) << 16;
        var shifted = (h & Vector256.Create(0x7FFFu)) << 13;
        // Reinterpreting exponent+mantissa as a float and scaling by 2^112 re-biases normals and subnormals exactly.
        var finite = (shifted.AsSingle() * Vector256.Create(5.192296858534828e33f)).AsUInt32();
        var isInfNaN = Vector256.GreaterThanOrEqual(shifted, Vector256.Create(0x7C00u << 13));
        var special = shifted | Vector256.Create(0x7F80_0000u);
        return (Vector256.ConditionalSelect(isInfNaN, special, finite) | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> SingleToHalf(Vector256<float> f)
    {
        var bits = f.AsUInt32();
        var sign = bits & Vector256.Create(0x8000_0000u);
        var abs = bits ^ sign;
        // Normal results: re-bias the exponent, add the rounding bias (ties to even via the kept LSB), shift.
        var odd = (abs >> 13) & Vector256<uint>.One;
        var normal = (abs + Vector256.Create(unchecked((uint)((15 - 127) << 23)) + 0xFFFu) + odd) >> 13;
        // Subnormal results: adding 0.5f aligns the mantissa so the FPU's own round-to-nearest-even does the work.
        var sub = (abs.AsSingle() + Vector256.Create(0.5f)).AsUInt32() - Vector256.Create(0x3F00_0000u);
        var big = Vector256.ConditionalSelect(Vector256.GreaterThan(abs, Vector256.Create(0x7F80_0000u)),
            Vector256.Create(0x7E00u), Vector256.Create(0x7C00u));
        var result = Vector256.ConditionalSelect(Vector256.LessThan(abs, Vector256.Create(113u << 23)), sub, normal);
        result = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(abs, Vector256.Create(143u << 23)), big, result);
        return result | (sign >> 16);
    }

    /// <summary>Scalar twin of <see cref="SingleToHalf(Vector256{float})"/> for tails (same NaN rule).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort SingleToHalf(float f) => float.IsNaN(f)
        ? (ushort)(0x7E00 | ((BitConverter.SingleToUInt32Bits(f) >> 16) & 0x8000))
        : BitConverter.HalfToUInt16Bits((Half)f);

    /// <summary>dst[i] = a[i] op b[i] for 16-bit floats held as ushort; <paramref name="bf16"/> picks bfloat16 or IEEE half.
    /// dst may alias a or b.</summary>
    public static void Combine(Span<ushort> dst, ReadOnlySpan<ushort> a, ReadOnlySpan<ushort> b, ReduceOp op, bool bf16)
    {
        ref var rd = ref MemoryMarshal.GetReference(dst);
        ref var ra = ref MemoryMarshal.GetReference(a);
        ref var rb = ref MemoryMarshal.GetReference(b);
        var n = (nuint)dst.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var va = Vector256.LoadUnsafe(ref ra, i);
                var vb = Vector256.LoadUnsafe(ref rb, i);
                var lo = Apply(Widen(Vector256.WidenLower(va), bf16), Widen(Vector256.WidenLower(vb), bf16), op);
                var hi = Apply(Widen(Vector256.WidenUpper(va), bf16), Widen(Vector256.WidenUpper(vb), bf16), op);
                Vector256.Narrow(Narrow(lo, bf16), Narrow(hi, bf16)).StoreUnsafe(ref rd, i);
            }
        }
        for (; i < n; i++)
        {
            var x = ToSingle(Unsafe.Add(ref ra, i), bf16);
            var y = ToSingle(Unsafe.Add(ref rb, i), bf16);
            var r = op switch { ReduceOp.Min => MathF.Min(x, y), ReduceOp.Max => MathF.Max(x, y), _ => x + y };
            Unsafe.Add(ref rd, i) = bf16 ? BFloat16.FromSingle(r) : SingleToHalf(r);
        }
    }

    /// <summary>data[i] = data[i] / divisor, computed in float32 and rounded back.</summary>
    public static void Divide(Span<ushort> data, float divisor, bool bf16)
    {
        ref var rd = ref MemoryMarshal.GetReference(data);
        var n = (nuint)data.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var d = Vector256.Create(divisor);
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref rd, i);
                var lo = Widen(Vector256.WidenLower(v), bf16) / d;
                var hi = Widen(Vector256.WidenUpper(v), bf16) / d;
                Vector256.Narrow(Narrow(lo, bf16), Narrow(hi, bf16)).StoreUnsafe(ref rd, i);
            }
        }
        for (; i < n; i++)
        {
            var r = ToSingle(Unsafe.Add(ref rd, i), bf16) / divisor;
            Unsafe.Add(ref rd, i) = bf16 ? BFloat16.FromSingle(r) : SingleToHalf(r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ToSingle(ushort bits, bool bf16) => bf16 ? BFloat16.ToSingle(bits) : (float)BitConverter.UInt16BitsToHalf(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen(Vector256<uint> h, bool bf16) => bf16 ? Bf16ToSingle(h) : HalfToSingle(h);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Narrow(Vector256<float> f, bool bf16) => bf16 ? SingleToBf16(f) : SingleToHalf(f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Apply(Vector256<float> x, Vector256<float> y, ReduceOp op) => op switch
    {
        ReduceOp.Min => Vector256.Min(x, y),
        ReduceOp.Max => Vector256.Max(x, y),
        _ => x + y,
    };
}
