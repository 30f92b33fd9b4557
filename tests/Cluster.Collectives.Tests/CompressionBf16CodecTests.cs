using Cluster.Collectives.Compression;
using Xunit;

namespace Cluster.Collectives.Tests;

public sealed class CompressionBf16CodecTests
{
    private static float[] RoundTrip(float[] x)
    {
        var enc = new ushort[x.Length];
        var dec = new float[x.Length];
        Bf16Codec.Encode(x, enc);
        Bf16Codec.Decode(enc, dec);
        return dec;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(67)]
    [InlineData(100_003)]
    public void EncodeMatchesScalarRoundingAndErrorIsWithinTwoToTheMinusEight(int n)
    {
        var rng = new Random(n);
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            // Random normal floats over the whole exponent range, but below the bf16 overflow threshold.
            var bits = (uint)rng.NextInt64(0x0080_0000, 0x7F7F_0000) | (uint)(rng.Next(2) << 31);
            x[i] = BitConverter.UInt32BitsToSingle(bits);
        }
        var enc = new ushort[n];
        Bf16Codec.Encode(x, enc);
        var dec = RoundTrip(x);
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(BFloat16.FromSingle(x[i]), enc[i]);
            var err = Math.Abs((double)x[i] - dec[i]);
            Assert.True(err <= Math.Pow(2, -8) * Math.Abs(x[i]), $"x={x[i]:R} decoded {dec[i]:R} error {err}");
        }
    }

    [Fact]
    public void RepresentableValuesAndSpecialsRoundTripExactly()
    {
        var rng = new Random(3);
        var x = Enumerable.Range(0, 1000).Select(_ => BFloat16.ToSingle((ushort)rng.Next(0, 65536))).Where(f => !float.IsNaN(f))
            .Concat([0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 1f, -2.5f, BFloat16.ToSingle(0x7F7F), BFloat16.ToSingle(0x0001), 3.4e38f]).ToArray();
        var dec = RoundTrip(x);
        for (var i = 0; i < x.Length - 1; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(x[i]), BitConverter.SingleToUInt32Bits(dec[i]));
        Assert.Equal(float.PositiveInfinity, dec[^1]); // 3.4e38 rounds above the largest bf16: overflow to +Inf
        var nan = RoundTrip([float.NaN, BitConverter.UInt32BitsToSingle(0x7F80_0001), BitConverter.UInt32BitsToSingle(0xFFC0_1234),
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        Assert.True(float.IsNaN(nan[0]) && float.IsNaN(nan[1]) && float.IsNaN(nan[2]), "NaN must stay NaN (also a signalling NaN whose payload is in the low bits)");
        Assert.True(float.IsNegative(nan[2]));
    }

    [Fact]
    public void SumOfEncodedValuesStaysWithinTheDocumentedBound()
    {
        const int n = 64, len = 4099;
        var rng = new Random(9);
        var acc = new float[len];
        var exact = new double[len];
        var absSum = new double[len];
        var chain = new float[len]; // re-encoded after every addition, like a ring hop
        var enc = new ushort[len];
        for (var r = 0; r < n; r++)
        {
            var x = Enumerable.Range(0, len).Select(_ => (float)((rng.NextDouble() - 0.3) * Math.Pow(10, rng.Next(-3, 4)))).ToArray();
            Bf16Codec.Encode(x, enc);
            Bf16Codec.DecodeAccumulate(acc, enc);
            for (var i = 0; i < len; i++) { exact[i] += x[i]; absSum[i] += Math.Abs(x[i]); chain[i] += x[i]; }
            Bf16Codec.Encode(chain, enc);
            Bf16Codec.Decode(enc, chain);
        }
        var u = Math.Pow(2, -24);
        var gamma = (n - 1) * u / (1 - (n - 1) * u);
        var onceBound = Math.Pow(2, -8) + gamma * (1 + Math.Pow(2, -8));
        var chainBound = Math.Pow(1 + Math.Pow(2, -8), n) * Math.Pow(1 + u, n) - 1;
        for (var i = 0; i < len; i++)
        {
            Assert.True(Math.Abs(exact[i] - acc[i]) <= onceBound * absSum[i], $"i={i}: encode-once sum error {Math.Abs(exact[i] - acc[i])} > {onceBound * absSum[i]}");
            Assert.True(Math.Abs(exact[i] - chain[i]) <= chainBound * absSum[i], $"i={i}: re-encoded chain error too large");
        }
    }

    [Fact]
    public void LengthMismatchesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => Bf16Codec.Encode(new float[3], new ushort[2]));
        Assert.Throws<ArgumentException>(() => Bf16Codec.Decode(new ushort[3], new float[2]));
        Assert.Throws<ArgumentException>(() => Bf16Codec.DecodeAccumulate(new float[3], new ushort[2]));
    }
}
