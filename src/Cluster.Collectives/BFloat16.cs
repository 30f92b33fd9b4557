using System.Runtime.CompilerServices;

namespace Cluster.Collectives;

/// <summary>bfloat16: the upper 16 bits of an IEEE float32 (8-bit exponent, 7-bit mantissa).
/// Conversion from float rounds to nearest even; NaN stays NaN. .NET 10 has no BFloat16 type.</summary>
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    public BFloat16(float value) => Bits = FromSingle(value);

    private BFloat16(ushort bits, bool _) => Bits = bits;

    public ushort Bits { get; }

    public static BFloat16 FromBits(ushort bits) => new(bits, true);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u); // quiet NaN
        var rounding = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + rounding) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public static explicit operator BFloat16(float value) => new(value);
    public static explicit operator float(BFloat16 value) => ToSingle(value.Bits);

    public bool Equals(BFloat16 other) => Bits == other.Bits;
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);
    public override int GetHashCode() => Bits;
    public override string ToString() => ToSingle(Bits).ToString(System.Globalization.CultureInfo.InvariantCulture);
    public static bool operator ==(BFloat16 left, BFloat16 right) => left.Equals(right);
    public static bool operator !=(BFloat16 left, BFloat16 right) => !left.Equals(right);
}
