using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using Cluster.Collectives.Shm;
using Xunit;

namespace Cluster.Collectives.Tests;

public sealed class ShmLinkTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    internal static (ShmLink Creator, ShmLink Opener) Pair(int capacity)
    {
        var name = ShmLink.NewName("test-shm");
        var a = ShmLink.Create(name, peerRank: 1, capacity);
        try { return (a, ShmLink.Open(name, peerRank: 0, TimeSpan.FromSeconds(5))); }
        catch { a.Dispose(); throw; }
    }

    /// <summary>Drives one link from one thread: sends all of <paramref name="send"/> and receives <paramref name="recv"/>.Length bytes.</summary>
    internal static void Pump(ShmLink link, byte[] send, byte[] recv, int seed)
    {
        var rng = new Random(seed);
        int sent = 0, received = 0;
        var sw = Stopwatch.StartNew();
        var wait = new SpinWait();
        while (sent < send.Length || received < recv.Length)
        {
            var progress = 0;
            if (sent < send.Length)
            {
                var n = link.TrySend(send.AsSpan(sent, Math.Min(send.Length - sent, rng.Next(1, 200_000))));
                sent += n; progress += n;
            }
            if (received < recv.Length)
            {
                var n = link.TryReceive(recv.AsSpan(received, Math.Min(recv.Length - received, rng.Next(1, 200_000))));
                received += n; progress += n;
            }
            if (progress == 0)
            {
                if (sw.Elapsed > Deadline) throw new TimeoutException($"pump stuck: sent {sent}/{send.Length}, received {received}/{recv.Length}");
                wait.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    [Theory]
    [InlineData(4096, 1 << 20)]
    [InlineData(64 * 1024, 8 << 20)]
    [InlineData(1 << 20, 8 << 20)]
    public void FullDuplexLargeRandomTransfersArriveExactly(int capacity, int bytes)
    {
        var (a, b) = Pair(capacity);
        using (a) using (b)
        {
            var aToB = RandomBytes(bytes, 1);
            var bToA = RandomBytes(bytes + 13, 2);
            var atB = new byte[aToB.Length];
            var atA = new byte[bToA.Length];
            var ta = Task.Factory.StartNew(() => Pump(a, aToB, atA, 3), TaskCreationOptions.LongRunning);
            var tb = Task.Factory.StartNew(() => Pump(b, bToA, atB, 4), TaskCreationOptions.LongRunning);
            Assert.True(Task.WaitAll([ta, tb], Deadline), "transfer did not finish");
            Assert.True(aToB.AsSpan().SequenceEqual(atB), "creator → opener data differs");
            Assert.True(bToA.AsSpan().SequenceEqual(atA), "opener → creator data differs");
        }
    }

    [Fact]
    public void WrapAroundWithOddSizesFromOneThread()
    {
        var (a, b) = Pair(4096);
        using (a) using (b)
        {
            var rng = new Random(7);
            var buf = new byte[4096];
            var got = new byte[4096];
            for (var round = 0; round < 200; round++)
            {
                var len = rng.Next(1, 4097);
                rng.NextBytes(buf.AsSpan(0, len));
                Assert.Equal(len, a.TrySend(buf.AsSpan(0, len)));
                Assert.Equal(4096 - len, a.TrySend(new byte[4097 - len])); // the ring holds exactly capacity bytes
                Assert.Equal(0, a.TrySend([1]));
                Assert.Equal(4096, b.TryReceive(got));
                Assert.True(buf.AsSpan(0, len).SequenceEqual(got.AsSpan(0, len)), $"round {round} differs");
                Assert.Equal(0, b.TryReceive(got));
            }
        }
    }

    [Fact]
    public void PeerCloseDeliversRemainingDataThenThrows()
    {
        var (a, b) = Pair(4096);
        using (a)
        {
            Assert.Equal(100, b.TrySend(RandomBytes(100, 9)));
            Assert.False(a.PeerGone);
            b.Dispose();
            Assert.True(a.PeerGone);
            var got = new byte[200];
            Assert.Equal(100, a.TryReceive(got));
            Assert.Throws<IOException>(() => a.TryReceive(got));
            Assert.Throws<IOException>(() => a.TrySend(got));
        }
    }

    [Fact]
    public void FileIsPrivateAndUnlinkedOnceBothSidesMappedIt()
    {
        var name = ShmLink.NewName("test-shm");
        using var a = ShmLink.Create(name, 1, 4096);
        Assert.True(File.Exists(a.FilePath));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(a.FilePath));
        using var b = ShmLink.Open(name, 0, TimeSpan.FromSeconds(5));
        Assert.False(File.Exists(a.FilePath));
        Assert.Equal(3, a.TrySend([1, 2, 3]));
        var got = new byte[3];
        Assert.Equal(3, b.TryReceive(got));
        Assert.Equal([1, 2, 3], got);

        var lonely = ShmLink.Create(ShmLink.NewName("test-shm"), 1, 4096);
        var path = lonely.FilePath;
        lonely.Dispose();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void SecondOpenIsRefused()
    {
        var name = ShmLink.NewName("test-shm");
        using var a = ShmLink.Create(name, 1, 4096);
        // Keep the file by opening it before the first opener unlinks it.
        using var fs = new FileStream(a.FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var copy = Path.Combine(ShmLink.DefaultDirectory, name + ".copy");
        using var b = ShmLink.Open(name, 0, TimeSpan.FromSeconds(5));
        File.WriteAllBytes(copy, ReadAll(fs));
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => ShmLink.Open(name + ".copy", 0, TimeSpan.FromSeconds(5)));
            Assert.Contains("already opened", ex.Message);
        }
        finally { File.Delete(copy); }
    }

    [Theory]
    [InlineData(0, "bad magic")]
    [InlineData(8, "version")]
    [InlineData(12, "capacity")]
    public void BadHeaderIsRefused(int corruptOffset, string expected)
    {
        var name = ShmLink.NewName("test-shm");
        var path = Path.Combine(ShmLink.DefaultDirectory, name);
        var bytes = new byte[ShmLayout.FileLength(4096)];
        BitConverter.TryWriteBytes(bytes.AsSpan(ShmLayout.MagicOffset), ShmLayout.Magic);
        BitConverter.TryWriteBytes(bytes.AsSpan(ShmLayout.VersionOffset), ShmLayout.Version);
        BitConverter.TryWriteBytes(bytes.AsSpan(ShmLayout.CapacityOffset), 4096);
        BitConverter.TryWriteBytes(bytes.AsSpan(corruptOffset), corruptOffset == 12 ? 5000 : 0x77);
        File.WriteAllBytes(path, bytes);
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => ShmLink.Open(name, 0, TimeSpan.FromSeconds(5)));
            Assert.Contains(expected, ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void OpenOfMissingFileTimesOutNamingTheFile()
    {
        var sw = Stopwatch.StartNew();
        var ex = Assert.Throws<TimeoutException>(() => ShmLink.Open("no-such-link-x", 0, TimeSpan.FromMilliseconds(50)));
        Assert.Contains("no-such-link-x", ex.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Throws<ArgumentException>(() => ShmLink.Create("../etc", 1, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShmLink.Create(ShmLink.NewName("t"), 1, 5000));
    }

    [Fact]
    public void DeathOfThePeerProcessIsDetectedQuickly()
    {
        var (a, b) = Pair(4096);
        using (a) using (b)
        {
            using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
            try
            {
                b.PublishPidForTest(sleeper.Id);
                var spin = Stopwatch.StartNew();
                while (spin.ElapsedMilliseconds < 10) Assert.False(a.PeerGone, "peer reported gone while its process lives");
                sleeper.Kill();
                Assert.True(sleeper.WaitForExit(5000), "sleep did not exit");
                var sw = Stopwatch.StartNew();
                while (!a.PeerGone && sw.ElapsedMilliseconds < 2000) Thread.SpinWait(100);
                Assert.True(a.PeerGone, "peer death not detected");
                Assert.True(sw.ElapsedMilliseconds < 100, $"detected after {sw.ElapsedMilliseconds} ms");
                Assert.Throws<IOException>(() => a.TryReceive(new byte[1]));
            }
            finally
            {
                if (!sleeper.HasExited) sleeper.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public void TryReceiveReduceSumsStraightOutOfTheRingAcrossTheWrap()
    {
        var (a, b) = Pair(4096);
        using (a) using (b)
        {
            // Misalign the stream by 2 bytes so some float straddles the wrap point.
            Assert.Equal(2, a.TrySend([9, 9]));
            Assert.Equal(2, b.TryReceive(new byte[2]));
            var rng = new Random(5);
            for (var round = 0; round < 20; round++)
            {
                var n = rng.Next(1, 1000);
                var src = new float[n];
                var acc = new float[n];
                for (var i = 0; i < n; i++) { src[i] = rng.Next(-1000, 1000) / 8f; acc[i] = rng.Next(-1000, 1000) / 4f; }
                var expected = acc.Zip(src, (x, y) => x + y).ToArray();
                Assert.Equal(n * 4, a.TrySend(System.Runtime.InteropServices.MemoryMarshal.AsBytes(src.AsSpan())));
                var done = 0;
                while (done < n)
                {
                    var k = b.TryReceiveReduce(acc.AsSpan(done), ReduceOp.Sum);
                    Assert.True(k > 0);
                    done += k;
                }
                Assert.Equal(expected, acc);
            }
            Assert.Equal(3, a.TrySend([1, 2, 3]));
            Assert.Equal(0, b.TryReceiveReduce(new float[4], ReduceOp.Max)); // fewer bytes than one float
        }
    }

    [Fact]
    public void PositionsOutsideTheRingAreRejectedAsCorruption()
    {
        var (a, b) = Pair(4096);
        using (a) using (b)
        {
            Assert.Equal(1, a.TrySend([1]));
            a.CorruptForTest(ShmLayout.Ring0HeadOffset, 1_000_000);
            var ex = Assert.Throws<IOException>(() => b.TryReceive(new byte[10]));
            Assert.Contains("corrupt", ex.Message);
            a.CorruptForTest(ShmLayout.Ring0TailOffset, 99_999);
            Assert.Throws<IOException>(() => a.TrySend(new byte[5000]));
        }
    }

    private static byte[] ReadAll(FileStream fs)
    {
        var bytes = new byte[fs.Length];
        fs.Position = 0;
        fs.ReadExactly(bytes);
        return bytes;
    }

    internal static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }
}
