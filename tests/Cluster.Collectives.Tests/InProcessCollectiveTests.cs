using Xunit;

namespace Cluster.Collectives.Tests;

/// <summary>Larger worlds as threads of one process (to save CPU); every rank still has its own communicator and sockets.</summary>
public sealed class InProcessCollectiveTests
{
    [Theory]
    [InlineData(1, 65536)]
    [InlineData(5, 65536)]
    [InlineData(6, 0)]
    [InlineData(7, 65536)]
    [InlineData(8, 65536)]
    public async Task Quick_suite_matches_reference(int world, int small)
    {
        var comms = await InProcessWorld.CreateAsync(world, (r, ports) => InProcessWorld.Options(r, ports, smallMessageBytes: small));
        try
        {
            await InProcessWorld.RunAsync(comms, c => TestWorker.Scenarios.RunSuiteAsync(c, seed: 100 + world, quick: true, CancellationToken.None));
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task Mismatched_lengths_fail_with_peer_failed_instead_of_corrupting()
    {
        var comms = await InProcessWorld.CreateAsync(2, (r, ports) => InProcessWorld.Options(r, ports, timeout: TimeSpan.FromSeconds(10)));
        try
        {
            var errors = new Exception?[2];
            await InProcessWorld.RunAsync(comms, async c =>
            {
                try { await c.AllReduceAsync<float>(new float[10 + c.Rank], ReduceOp.Sum); }
                catch (Exception e) { errors[c.Rank] = e; }
            });
            for (var r = 0; r < 2; r++)
            {
                var e = Assert.IsType<PeerFailedException>(errors[r]);
                Assert.Equal(1 - r, e.PeerRank);
                Assert.Equal("AllReduce", e.Operation);
                Assert.Equal(7, e.Generation);
            }
            // Broken stays broken: the next operation fails at once.
            var next = await Assert.ThrowsAsync<PeerFailedException>(() => comms[0].BarrierAsync().AsTask());
            Assert.Equal("Barrier", next.Operation);
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected_without_breaking_the_communicator()
    {
        var comms = await InProcessWorld.CreateAsync(2);
        try
        {
            await Assert.ThrowsAsync<ArgumentException>(() => comms[0].AllGatherAsync<float>(new float[3], new float[5]).AsTask());
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => comms[0].BroadcastAsync<float>(new float[3], 2).AsTask());
            await Assert.ThrowsAsync<ArgumentException>(() => comms[0].SendAsync<float>(new float[3], 0).AsTask());
            await Assert.ThrowsAsync<NotSupportedException>(() => comms[0].AllReduceAsync<byte>(new byte[3], ReduceOp.Sum).AsTask());
            await InProcessWorld.RunAsync(comms, c => TestWorker.Scenarios.AllReduceAsync<int>(c, 5, 100, ReduceOp.Sum, CancellationToken.None));
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task Nccl_transport_reports_backend_unavailable()
    {
        var options = InProcessWorld.Options(0, [1, 2], transport: TransportKind.Nccl);
        await Assert.ThrowsAsync<BackendUnavailableException>(() => Communicator.CreateAsync(options, CancellationToken.None));
    }

    [Fact]
    public async Task Env_rendezvous_learns_every_rank_address_from_rank_0()
    {
        var masterPort = InProcessWorld.FreePort();
        var env = (int rank) => new Dictionary<string, string>
        {
            ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = masterPort.ToString(), ["RANK"] = rank.ToString(), ["WORLD_SIZE"] = "3",
            ["CLUSTER_JOB_ID"] = "env-job", ["CLUSTER_GENERATION"] = "4", ["CLUSTER_SECRET"] = Convert.ToBase64String(InProcessWorld.Secret),
            ["CLUSTER_TRANSPORT"] = "Tcp", ["CLUSTER_CONNECT_TIMEOUT_S"] = "30",
        };
        var tasks = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
            EnvironmentRendezvous.CreateAsync(EnvironmentRendezvous.ReadSettings(k => env(r).GetValueOrDefault(k)), CancellationToken.None))).ToArray();
        var comms = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
        try
        {
            Assert.Equal([0, 1, 2], comms.Select(c => c.Rank));
            Assert.All(comms, c => Assert.Equal(4, c.Generation));
            await InProcessWorld.RunAsync(comms, c => TestWorker.Scenarios.AllReduceAsync<long>(c, 9, 1000, ReduceOp.Sum, CancellationToken.None));
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Theory]
    [InlineData(3, 65536)]
    [InlineData(2, 0)]
    public async Task Bfloat16_wire_compression_stays_within_stated_tolerance(int world, int small)
    {
        var comms = await InProcessWorld.CreateAsync(world, (r, ports) =>
            InProcessWorld.Options(r, ports, smallMessageBytes: small) with { CompressFloat32AsBFloat16 = true });
        try
        {
            const int count = 50_001;
            await InProcessWorld.RunAsync(comms, async c =>
            {
                var data = new float[count];
                for (var i = 0; i < count; i++) data[i] = TestWorker.TestValues.Value<float>(31, c.Rank, i);
                await c.AllReduceAsync<float>(data, ReduceOp.Sum);
                var worst = 0.0;
                for (var i = 0; i < count; i++)
                    worst = Math.Max(worst, Math.Abs(data[i] - TestWorker.TestValues.Reference<float>(31, c.WorldSize, i, ReduceOp.Sum)));
                // bf16 keeps 8 significant bits: |inputs| <= 1, so each of the (world + 1) roundings costs at most 2^-8 * world.
                Assert.InRange(worst, 1e-9, (c.WorldSize + 1) * c.WorldSize / 256.0);
                // Min/Max are not compressed: exact.
                await TestWorker.Scenarios.AllReduceAsync<float>(c, 32, 1000, ReduceOp.Max, CancellationToken.None);
            });
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task Shm_transport_across_hosts_reports_backend_unavailable()
    {
        var options = InProcessWorld.Options(0, [1, 2], hostIds: ["a", "b"], transport: TransportKind.Shm);
        var e = await Assert.ThrowsAsync<BackendUnavailableException>(() => Communicator.CreateAsync(options, CancellationToken.None));
        Assert.Contains("rank 1", e.Message);
    }

    [Fact]
    public void Secret_parses_hex_and_base64()
    {
        Assert.Equal(InProcessWorld.Secret, EnvironmentRendezvous.ParseSecret(Convert.ToHexString(InProcessWorld.Secret)));
        Assert.Equal(InProcessWorld.Secret, EnvironmentRendezvous.ParseSecret(Convert.ToBase64String(InProcessWorld.Secret)));
        Assert.Throws<InvalidOperationException>(() => EnvironmentRendezvous.ParseSecret("not a secret!"));
    }
}
