using Xunit;

namespace Cluster.Collectives.Tests;

/// <summary>Worlds larger than the old full mesh was comfortable with: every collective gives exact results while each
/// rank holds only its <see cref="PeerTopology"/> links (counted through <see cref="MeshCommunicator.ConnectedPeers"/>),
/// and point-to-point with a rank outside the topology opens exactly that one link on first use.</summary>
public sealed class SparseMeshTests
{
    [Theory]
    [InlineData(16, "Tcp", 6)]  // log2(16) + 2
    [InlineData(12, "Tcp", 5)]  // floor(log2 12) + 2
    [InlineData(6, "Auto", 4)]  // one host: the connected pairs use shared memory
    public async Task Every_collective_is_exact_over_the_topology_links_only(int world, string transport, int maxLinks)
    {
        var kind = Enum.Parse<TransportKind>(transport);
        var comms = await InProcessWorld.CreateAsync(world, (r, ports) =>
            InProcessWorld.Options(r, ports, hostIds: [.. Enumerable.Repeat("one-host", world)], transport: kind, timeout: TimeSpan.FromSeconds(60))
                with { ShmRingBytes = 64 * 1024 });
        try
        {
            AssertTopologyLinksOnly(comms, maxLinks);
            await InProcessWorld.RunAsync(comms, c => RunCollectivesAsync(c));
            AssertTopologyLinksOnly(comms, maxLinks);
            if (kind == TransportKind.Auto)
                Assert.All(comms, c => Assert.Equal(PeerTopology.Partners(c.Rank, world), ((MeshCommunicator)c).SharedMemoryPeers));
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    [Fact]
    public async Task Point_to_point_outside_the_topology_opens_that_one_link_on_first_use()
    {
        const int world = 16;
        var comms = await InProcessWorld.CreateAsync(world);
        try
        {
            Assert.DoesNotContain(5, PeerTopology.Partners(0, world));
            await InProcessWorld.RunAsync(comms, async c =>
            {
                var payload = Enumerable.Range(0, 100_000).Select(i => (float)(i % 1000)).ToArray();
                for (var round = 0; round < 2; round++) // the second round reuses the link
                {
                    if (c.Rank == 0) await c.SendAsync<float>(payload, 5);
                    if (c.Rank == 5)
                    {
                        var got = new float[payload.Length];
                        await c.RecvAsync<float>(got, 0);
                        Assert.Equal(payload, got);
                        await c.SendAsync<int>(new[] { 42 + round }, 0);
                    }
                    if (c.Rank == 0)
                    {
                        var reply = new int[1];
                        await c.RecvAsync<int>(reply, 5);
                        Assert.Equal(42 + round, reply[0]);
                    }
                }
                await c.BarrierAsync();
            });
            for (var r = 0; r < world; r++)
            {
                var expected = PeerTopology.Partners(r, world).ToList();
                if (r == 0) expected.Add(5);
                if (r == 5) expected.Add(0);
                Assert.Equal(expected.Order(), ((MeshCommunicator)comms[r]).ConnectedPeers);
            }
        }
        finally
        {
            await InProcessWorld.DisposeAllAsync(comms);
        }
    }

    private static void AssertTopologyLinksOnly(ICommunicator[] comms, int maxLinks)
    {
        foreach (var c in comms)
        {
            var connected = ((MeshCommunicator)c).ConnectedPeers;
            Assert.Equal(PeerTopology.Partners(c.Rank, c.WorldSize), connected);
            Assert.True(connected.Count <= maxLinks, $"rank {c.Rank} holds {connected.Count} links: {string.Join(",", connected)}");
        }
    }

    /// <summary>Integer-valued inputs, so every sum is exact in float32 whatever the reduction order.</summary>
    private static async Task RunCollectivesAsync(ICommunicator c)
    {
        var n = c.WorldSize;
        float Value(int rank, int i) => (rank + 1) * 3 + i % 101;
        float Sum(int i) => Enumerable.Range(0, n).Sum(r => Value(r, i));

        foreach (var count in new[] { 100, 3_000, 200_000 }) // 400 B and 12 KB: recursive doubling; 800 KB: ring
        {
            var data = Enumerable.Range(0, count).Select(i => Value(c.Rank, i)).ToArray();
            await c.AllReduceAsync<float>(data, ReduceOp.Sum);
            for (var i = 0; i < count; i++) Assert.Equal(Sum(i), data[i]);

            var max = Enumerable.Range(0, count).Select(i => Value(c.Rank, i)).ToArray();
            await c.AllReduceAsync<float>(max, ReduceOp.Max);
            for (var i = 0; i < count; i++) Assert.Equal(Value(n - 1, i), max[i]);

            var avg = Enumerable.Range(0, count).Select(i => (double)Value(c.Rank, i)).ToArray();
            await c.AllReduceAsync<double>(avg, ReduceOp.Average);
            for (var i = 0; i < count; i++) Assert.Equal(Sum(i) / n, avg[i], 1e-9);
        }

        var block = 1_000;
        var scatterIn = Enumerable.Range(0, block * n).Select(i => Value(c.Rank, i)).ToArray();
        var scatterOut = new float[block];
        await c.ReduceScatterAsync<float>(scatterIn, scatterOut, ReduceOp.Sum);
        for (var i = 0; i < block; i++) Assert.Equal(Sum(c.Rank * block + i), scatterOut[i]);

        var gathered = new long[block * n];
        await c.AllGatherAsync<long>(Enumerable.Range(0, block).Select(i => (long)c.Rank * 1_000_000 + i).ToArray(), gathered);
        for (var r = 0; r < n; r++)
            for (var i = 0; i < block; i++) Assert.Equal((long)r * 1_000_000 + i, gathered[r * block + i]);

        foreach (var root in new[] { 0, n / 2, n - 1 })
        {
            var bytes = new byte[50_000];
            if (c.Rank == root) for (var i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i * 7 + root);
            await c.BroadcastAsync<byte>(bytes, root);
            for (var i = 0; i < bytes.Length; i++) Assert.Equal((byte)(i * 7 + root), bytes[i]);
        }

        for (var i = 0; i < 3; i++) await c.BarrierAsync();
    }
}
