using Cluster.Collectives.Compression;
using Xunit;

namespace Cluster.Collectives.Tests;

public sealed class ShmElementTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Bf16SendAndReceiveAccumulateMatchTheCodecAcrossTheWrap(int misalignBytes)
    {
        var (a, b) = ShmLinkTests.Pair(4096);
        using (a) using (b)
        {
            if (misalignBytes > 0)
            {
                Assert.Equal(misalignBytes, a.TrySend(new byte[misalignBytes]));
                Assert.Equal(misalignBytes, b.TryReceive(new byte[misalignBytes]));
            }
            var rng = new Random(misalignBytes + 1);
            for (var round = 0; round < 40; round++)
            {
                var n = rng.Next(1, 3000);
                var src = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 200 - 100)).ToArray();
                var acc = Enumerable.Range(0, n).Select(_ => (float)rng.Next(-50, 50)).ToArray();
                var encoded = new ushort[n];
                Bf16Codec.Encode(src, encoded);
                var expected = (float[])acc.Clone();
                Bf16Codec.DecodeAccumulate(expected, encoded);
                var decoded = new float[n];
                Bf16Codec.Decode(encoded, decoded);

                int sent = 0, got = 0;
                var accumulate = round % 2 == 0;
                var outBuf = accumulate ? acc : new float[n];
                var guard = 0;
                while (got < n)
                {
                    Assert.True(++guard < 100_000, $"no progress: sent {sent}, received {got} of {n}");
                    if (sent < n) sent += a.TrySendBf16(src.AsSpan(sent));
                    got += accumulate ? b.TryReceiveBf16Accumulate(outBuf.AsSpan(got)) : b.TryReceiveBf16(outBuf.AsSpan(got));
                }
                Assert.Equal(accumulate ? expected : decoded, outBuf);
            }
            Assert.Equal(1, a.TrySend([7]));
            Assert.Equal(0, b.TryReceiveBf16(new float[3])); // one byte is less than one element
        }
    }

    [Fact]
    public void TryReceiveReduceWorksForEveryElementType()
    {
        var (a, b) = ShmLinkTests.Pair(4096);
        using (a) using (b)
        {
            RoundTrip(a, b, new[] { 1.5, -2.0, 3.25 }, new[] { 1.0, 1.0, 1.0 }, ReduceOp.Max, new[] { 1.5, 1.0, 3.25 });
            RoundTrip(a, b, new[] { 5, -7, 9 }, new[] { 1, 2, 3 }, ReduceOp.Sum, new[] { 6, -5, 12 });
            RoundTrip(a, b, new[] { 5L, -7L }, new[] { 1L, 2L }, ReduceOp.Min, new[] { 1L, -7L });
            RoundTrip(a, b, new[] { (Half)1.5f, (Half)2f }, new[] { (Half)1f, (Half)(-1f) }, ReduceOp.Sum, new[] { (Half)2.5f, (Half)1f });
            RoundTrip(a, b, new[] { new BFloat16(1.5f), new BFloat16(8f) }, new[] { new BFloat16(0.5f), new BFloat16(1f) }, ReduceOp.Average, new[] { new BFloat16(2f), new BFloat16(9f) });
        }
    }

    private static void RoundTrip<T>(Cluster.Collectives.Shm.ShmLink a, Cluster.Collectives.Shm.ShmLink b, T[] send, T[] acc, ReduceOp op, T[] expected) where T : unmanaged
    {
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(send.AsSpan());
        Assert.Equal(bytes.Length, a.TrySend(bytes));
        Assert.Equal(send.Length, b.TryReceiveReduce<T>(acc, op));
        Assert.Equal(expected, acc);
    }
}
