using System.Diagnostics;
using Cluster.Collectives.Shm;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Collectives.Tests;

/// <summary>Measures the link (figures go to the test output); asserts only loose bounds that catch a broken
/// pipeline, since the build machine's cores are shared. Runs alone (no other test class in parallel).</summary>
[Collection(nameof(ShmThroughputTests))]
[CollectionDefinition(nameof(ShmThroughputTests), DisableParallelization = true)]
public sealed class ShmThroughputTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1 << 20, 4 << 20, 8)]
    [InlineData(4 << 20, 4 << 20, 8)]
    [InlineData(1 << 20, 64 << 20, 1)]
    [InlineData(4 << 20, 64 << 20, 1)]
    public void OneWayThroughput(int capacity, int bytes, int repeats)
    {
        var (a, b) = ShmLinkTests.Pair(capacity);
        using (a) using (b)
        {
            var src = ShmLinkTests.RandomBytes(bytes, 1);
            var dst = new byte[bytes];
            var best = double.MaxValue;
            for (var r = 0; r < repeats + 1; r++)
            {
                using var ready = new Barrier(2);
                var recv = Task.Factory.StartNew(() => { ready.SignalAndWait(); Drain(b, dst); }, TaskCreationOptions.LongRunning);
                ready.SignalAndWait();
                var sw = Stopwatch.StartNew();
                Fill(a, src);
                Assert.True(recv.Wait(TimeSpan.FromSeconds(30)), "receiver stuck");
                if (r > 0) best = Math.Min(best, sw.Elapsed.TotalSeconds); // r == 0 warms up (page faults, JIT)
            }
            Assert.True(src.AsSpan().SequenceEqual(dst));
            var gbps = bytes / best / 1e9;
            output.WriteLine($"shm one-way: ring {capacity >> 20} MiB, transfer {bytes >> 20} MiB: {gbps:0.00} GB/s (best of {repeats})");
        }
    }

    [Fact]
    public void PingPongLatency4KiB()
    {
        var (a, b) = ShmLinkTests.Pair(1 << 20);
        using (a) using (b)
        {
            const int rounds = 5_000;
            var msg = new byte[4096];
            var echo = Task.Factory.StartNew(() =>
            {
                var buf = new byte[4096];
                for (var i = 0; i < rounds; i++) { Drain(b, buf); Fill(b, buf); }
            }, TaskCreationOptions.LongRunning);
            var back = new byte[4096];
            var samples = new double[rounds];
            for (var i = 0; i < rounds; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                Fill(a, msg);
                Drain(a, back);
                samples[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / 2;
            }
            Assert.True(echo.Wait(TimeSpan.FromSeconds(30)));
            Array.Sort(samples);
            output.WriteLine($"shm 4 KiB one-way latency (half round trip): median {samples[rounds / 2]:0.00} µs, p10 {samples[rounds / 10]:0.00} µs, p90 {samples[rounds * 9 / 10]:0.00} µs");
            Assert.True(samples[rounds / 2] < 50_000, $"median {samples[rounds / 2]} µs");
        }
    }

    private static void Fill(ShmLink link, ReadOnlySpan<byte> data)
    {
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        var wait = new SpinWait();
        var idle = 0;
        for (var done = 0; done < data.Length;)
        {
            var n = link.TrySend(data[done..]);
            done += n;
            if (n > 0) continue;
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException("send stuck");
            if (++idle > 20_000) wait.SpinOnce(sleep1Threshold: -1); // pure spin first; then yield now and then (oversubscribed cores)
        }
    }

    private static void Drain(ShmLink link, Span<byte> data)
    {
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        var wait = new SpinWait();
        var idle = 0;
        for (var done = 0; done < data.Length;)
        {
            var n = link.TryReceive(data[done..]);
            done += n;
            if (n > 0) continue;
            if (Stopwatch.GetTimestamp() > deadline) throw new TimeoutException("receive stuck");
            if (++idle > 20_000) wait.SpinOnce(sleep1Threshold: -1);
        }
    }
}
