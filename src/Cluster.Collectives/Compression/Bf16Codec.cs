using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Cluster.Collectives.Compression;

/// <summary>
/// float32 ↔ bfloat16 wire codec for compressed float32 all-reduce (half the bytes), vectorised with Vector256.
/// <para>Encoding rounds to nearest even, bit for bit like <see cref="BFloat16.FromSingle"/>; NaN stays NaN
/// (quietened), ±Inf and ±0 are kept; decoding is exact (bf16 ⊂ float32).</para>
/// <para>Error of one value: bf16 keeps 8 significant bits, so for a normal float x whose rounding does not
/// overflow (|x| &lt; 3.3961e38, larger values become ±Inf) |x − Decode(Encode(x))| ≤ 2^-8·|x| (0.39 %);
/// float32 subnormals and values below 2^-126 err by at most 2^-134 absolute; values already representable in
/// bf16 round-trip exactly.</para>
/// <para>Error of a sum: encoding each of n addends once and accumulating the decoded values in float32
/// (<see cref="DecodeAccumulate"/>) gives |Σxᵢ − S| ≤ (2^-8 + γ·(1 + 2^-8))·Σ|xᵢ| with γ = (n−1)·2^-24 / (1 − (n−1)·2^-24).
/// If a partial sum is re-encoded after each of k additions (as a ring reduce-scatter hop does), every re-encoding
/// adds at most 2^-8 of the partial sum's magnitude: |Σxᵢ − S| ≤ ((1 + 2^-8)^(k+1)·(1 + 2^-24)^k − 1)·Σ|xᵢ| ≈ (k + 1)·2^-8·Σ|xᵢ|.</para>
/// </summary>
internal static class Bf16Codec
{
    /// <summary>dst[i] = bf16(src[i]) rounded to nearest even.</summary>
    public static void Encode(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"destination holds {dst.Length} values, source has {src.Length}", nameof(dst));
        ref var rs = ref MemoryMarshal.GetReference(src);
        ref var rd = ref MemoryMarshal.GetReference(dst);
        var n = (nuint)src.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var lo = Float16Vectors.SingleToBf16(Vector256.LoadUnsafe(ref rs, i));
                var hi = Float16Vectors.SingleToBf16(Vector256.LoadUnsafe(ref rs, i + 8));
                Vector256.Narrow(lo, hi).StoreUnsafe(ref rd, i);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = BFloat16.FromSingle(Unsafe.Add(ref rs, i));
    }

    /// <summary>dst[i] = float(src[i]) (exact).</summary>
    public static void Decode(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"destination holds {dst.Length} values, source has {src.Length}", nameof(dst));
        ref var rs = ref MemoryMarshal.GetReference(src);
        ref var rd = ref MemoryMarshal.GetReference(dst);
        var n = (nuint)src.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref rs, i);
                Float16Vectors.Bf16ToSingle(Vector256.WidenLower(v)).StoreUnsafe(ref rd, i);
                Float16Vectors.Bf16ToSingle(Vector256.WidenUpper(v)).StoreUnsafe(ref rd, i + 8);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref rd, i) = BFloat16.ToSingle(Unsafe.Add(ref rs, i));
    }

    /// <summary>acc[i] += float(src[i]) in float32.</summary>
    public static void DecodeAccumulate(Span<float> acc, ReadOnlySpan<ushort> src)
    {
        if (acc.Length != src.Length) throw new ArgumentException($"length mismatch: acc {acc.Length}, src {src.Length}", nameof(src));
        ref var rs = ref MemoryMarshal.GetReference(src);
        ref var ra = ref MemoryMarshal.GetReference(acc);
        var n = (nuint)src.Length;
        nuint i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector256.LoadUnsafe(ref rs, i);
                (Vector256.LoadUnsafe(ref ra, i) + Float16Vectors.Bf16ToSingle(Vector256.WidenLower(v))).StoreUnsafe(ref ra, i);
                (Vector256.LoadUnsafe(ref ra, i + 8) + Float16Vectors.Bf16ToSingle(Vector256.WidenUpper(v))).StoreUnsafe(ref ra, i + 8);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref ra, i) += BFloat16.ToSingle(Unsafe.Add(ref rs, i));
    }
}
