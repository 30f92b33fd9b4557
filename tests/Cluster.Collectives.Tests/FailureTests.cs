using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Cluster.Collectives.Tests;

/// <summary>No operation ever hangs: dead, closed, stalled and aborted peers all end pending operations with an
/// exception that names the operation, the generation and the peer.</summary>
public sealed partial class FailureTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("Tcp", "h0,h1,h2")]
    [InlineData("Auto", "a,a,a")]
    public void Killing_a_peer_during_all_reduce_fails_every_survivor_naming_the_dead_rank(string transport, string hosts)
    {
        const int timeoutSeconds = 20;
        using var cluster = WorkerCluster.Start(3, output, TimeSpan.FromSeconds(60),
            "--mode", "loop", "--transport", transport, "--hosts", hosts, "--timeout", timeoutSeconds.ToString());
        for (var r = 0; r < 3; r++) cluster.WaitForLine(r, l => l == "READY", TimeSpan.FromSeconds(60));
        var killedAt = Stopwatch.StartNew();
        cluster.Kill(1);
        foreach (var survivor in new[] { 0, 2 })
        {
            var line = cluster.WaitForLine(survivor, l => l.StartsWith("ERROR ", StringComparison.Ordinal), TimeSpan.FromSeconds(timeoutSeconds + 10));
            var m = ErrorLine().Match(line);
            Assert.True(m.Success, line);
            Assert.Contains(m.Groups["type"].Value, new[] { nameof(PeerFailedException), nameof(CollectiveTimeoutException) });
            Assert.Equal("1", m.Groups["peer"].Value);
            Assert.Equal("AllReduce", m.Groups["op"].Value);
            Assert.Equal("1", m.Groups["gen"].Value);
        }
        Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(timeoutSeconds), $"survivors took {killedAt.Elapsed} (deadline {timeoutSeconds} s)");
    }

    [Fact]
    public async Task Abort_unblocks_a_blocked_recv_at_once_and_later_operations_fail_fast()
    {
        var comms = await InProcessWorld.CreateAsync(2);
        try
        {
            var recv = Task.Factory.StartNew(() => comms[1].RecvAsync<float>(new float[10], 0).AsTask().GetAwaiter().GetResult(),
                CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.False(recv.Wait(200), "nothing was sent, so Recv must still be pending");
            var sw = Stopwatch.StartNew();
            comms[1].Abort("membership changed");
            var e = await Assert.ThrowsAsync<CommunicatorAbortedException>(() => recv.WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"abort took {sw.Elapsed}");
            Assert.Equal("Recv", e.Operation);
            Assert.Contains("membership changed", e.Message);
            var later = await Assert.ThrowsAsync<CommunicatorAbortedException>(() => comms[1].BarrierAsync().AsTask());
            Assert.Equal("Barrier", later.Operation);
            // The peer's next operation fails too (the aborted rank closed its links), naming rank 1.
            var peer = await Assert.ThrowsAsync<PeerFailedException>(() => comms[0].RecvAsync<float>(new float[10], 1).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(1, peer.PeerRank);
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task A_stalled_peer_times_out_naming_it()
    {
        var comms = await InProcessWorld.CreateAsync(2, (r, ports) => InProcessWorld.Options(r, ports, timeout: TimeSpan.FromSeconds(1)));
        try
        {
            var sw = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<CollectiveTimeoutException>(() => Task.Run(() => comms[0].AllReduceAsync<double>(new double[1000], ReduceOp.Max).AsTask()));
            Assert.InRange(sw.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
            Assert.Equal(1, e.PeerRank);
            Assert.Equal(7, e.Generation);
            Assert.Equal("AllReduce", e.Operation);
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task A_disposed_peer_fails_the_pending_operation_naming_it()
    {
        var comms = await InProcessWorld.CreateAsync(3);
        try
        {
            await comms[2].DisposeAsync();
            var e = await Assert.ThrowsAsync<PeerFailedException>(() => Task.Run(() => comms[0].RecvAsync<int>(new int[4], 2).AsTask()).WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(2, e.PeerRank);
            Assert.Contains("closed its communicator", e.Message);
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task Cancellation_ends_a_pending_operation()
    {
        var comms = await InProcessWorld.CreateAsync(2);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Run(() => comms[0].RecvAsync<int>(new int[4], 1, cts.Token).AsTask()).WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("job")]
    [InlineData("generation")]
    public async Task A_peer_with_the_wrong_secret_job_or_generation_is_refused_and_logged(string wrong)
    {
        var logger = new ListLogger();
        using var l0 = CommunicatorListener.Bind("127.0.0.1", 0);
        using var l1 = CommunicatorListener.Bind("127.0.0.1", 0);
        int[] ports = [l0.Port, l1.Port];
        var good = InProcessWorld.Options(0, ports, timeout: TimeSpan.FromSeconds(3), logger: logger);
        var bad = InProcessWorld.Options(1, ports, timeout: TimeSpan.FromSeconds(3));
        bad = wrong switch
        {
            "secret" => bad with { Secret = [.. InProcessWorld.Secret.Reverse()] },
            "job" => bad with { JobId = "another-job" },
            _ => bad with { Generation = 6 },
        };
        var rank0 = Task.Run(() => Communicator.CreateAsync(good, l0, CancellationToken.None));
        var rank1 = Task.Run(() => Communicator.CreateAsync(bad, l1, CancellationToken.None));
        var e1 = await Assert.ThrowsAnyAsync<CollectiveException>(() => rank1.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(e1 is AuthenticationFailedException or CollectiveTimeoutException, e1.ToString());
        var e0 = await Assert.ThrowsAsync<CollectiveTimeoutException>(() => rank0.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("connect", e0.Operation);
        Assert.Equal(1, e0.PeerRank);
        Assert.True(logger.Count(m => m.Contains("refused connection", StringComparison.Ordinal)) >= 1, string.Join("\n", logger.Entries));
    }

    [Fact]
    public async Task Garbage_and_half_open_connections_do_not_stop_a_correct_peer_from_connecting()
    {
        var logger = new ListLogger();
        using var l0 = CommunicatorListener.Bind("127.0.0.1", 0);
        using var l1 = CommunicatorListener.Bind("127.0.0.1", 0);
        int[] ports = [l0.Port, l1.Port];
        var rank0 = Task.Run(() => Communicator.CreateAsync(InProcessWorld.Options(0, ports, logger: logger), l0, CancellationToken.None));
        var junk = new List<Socket>();
        try
        {
            var rng = new Random(5);
            var random = new byte[64 * 1024];
            rng.NextBytes(random);
            junk.Add(await SendAsync(l0.Port, random));                                      // random bytes
            junk.Add(await SendAsync(l0.Port, [0x43, 0x4C, 0x4D, 0x48, 1, 1, 0xFF, 0xFF])); // valid magic, absurd job id length
            junk.Add(await SendAsync(l0.Port, [0x43, 0x4C]));                               // half-open: never finishes its hello
            junk.Add(await SendAsync(l0.Port, []));                                         // connects and says nothing
            await WaitUntilAsync(() => logger.Count(m => m.Contains("refused connection", StringComparison.Ordinal)) >= 2, TimeSpan.FromSeconds(20));

            var rank1 = Task.Run(() => Communicator.CreateAsync(InProcessWorld.Options(1, ports), l1, CancellationToken.None));
            var comms = await Task.WhenAll(rank0, rank1).WaitAsync(TimeSpan.FromSeconds(30));
            try
            {
                await InProcessWorld.RunAsync(comms, c => TestWorker.Scenarios.AllReduceAsync<float>(c, 3, 5000, ReduceOp.Sum, CancellationToken.None));
            }
            finally
            {
                await InProcessWorld.DisposeAllAsync(comms);
            }
        }
        finally
        {
            foreach (var s in junk) s.Dispose();
        }
    }

    private static async Task<Socket> SendAsync(int port, byte[] bytes)
    {
        var s = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(IPAddress.Loopback, port);
        if (bytes.Length > 0)
        {
            try { await s.SendAsync(bytes, SocketFlags.None); }
            catch (SocketException) { } // the listener may already have refused and reset us
        }
        return s;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) throw new TimeoutException("condition not met within " + timeout);
            await Task.Delay(20);
        }
    }

    [GeneratedRegex(@"^ERROR (?<type>\w+) peer=(?<peer>\w+) op=(?<op>\w+) gen=(?<gen>\d+) ms=(?<ms>\d+)$")]
    private static partial Regex ErrorLine();
}
